/// Work a caller runs on rows of a linear layer's result as soon as they are final, on the
/// thread that produced them and while they are still in cache: `epilogue(rows, base)` with
/// `base` the result's first element (row-major, its row stride is the result's width). Calls
/// for disjoint row ranges may run at the same time on different threads, and together they
/// cover every row exactly once. An epilogue may change the rows it is handed (only those).
public typealias RowEpilogue<Scalar> = (_ rows: Range<Int>, _ base: UnsafeMutablePointer<Scalar>) -> Void

/// A linear layer that runs a `RowEpilogue` inside its forward (on y = x·Wᵀ + b) and inside
/// its backward (on dx), band by band, instead of leaving it a separate pass over memory.
///
/// The MLP block uses it to fuse GELU into fc1's forward, a = gelu(h) per finished band of h,
/// and the GELU derivative into fc2's backward, dh = gelu′(h) ⊙ da on each finished band of da.
public protocol RowEpilogueLinear<Scalar>: LinearLayer {
    /// `forward(x, into: &y)`, then `epilogue` on every band of y once that band is final.
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, epilogue: RowEpilogue<Scalar>) throws
    /// `backward(input:outputGradient:inputGradient:)`, then `epilogue` on every band of dx once
    /// that band is final (parameter gradients do not depend on dx, so they are unaffected).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  epilogue: RowEpilogue<Scalar>) throws
}

extension RowEpilogueLinear {
    /// The unfused fallback: the plain pass, then `epilogue` over all rows split over `ComputeThreads`.
    public func forwardThenEpilogue(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, epilogue: RowEpilogue<Scalar>) throws {
        try forward(x, into: &y)
        Self.runEpilogue(epilogue, on: &y)
    }

    /// The unfused fallback of the backward (see `forwardThenEpilogue`).
    public func backwardThenEpilogue(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                                     inputGradient dx: inout Matrix<Scalar>, epilogue: RowEpilogue<Scalar>) throws {
        try backward(input: x, outputGradient: dy, inputGradient: &dx)
        Self.runEpilogue(epilogue, on: &dx)
    }

    static func runEpilogue(_ epilogue: RowEpilogue<Scalar>, on matrix: inout Matrix<Scalar>) {
        let (rows, cols) = (matrix.rows, matrix.cols)
        matrix.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            ComputeThreads.forEachPart(items: rows, minimumPerPart: max(1, 16_384 / max(1, cols))) { range, _, _ in epilogue(range, base) }
        }
    }
}

/// Rows per product call of a fused pass within a thread's band: the dense layer cuts its bands
/// into chunks of this many rows, as the block-sparse kernels do (`BlockSparseKernel.chunkRows`),
/// so both run the epilogue at the same granularity.
public let rowEpilogueChunkRows = 512
