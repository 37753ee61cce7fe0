import PixelflyCore

/// y = D·Q·B·P·x: an input gather P, a butterfly B, an output gather Q, a diagonal D and
/// optionally the real part — the shape of every fast transform here (DFT, Hadamard, DCT).
///
/// Rows of x are n reals (`inputIsReal`) or n interleaved complex numbers; rows of y likewise
/// (`outputIsReal`). P, Q and D are folded into the transposes that move rows in and out of
/// the kernel's work layout, so they cost no extra pass.
public struct ButterflyTransform<Scalar: TensorScalar>: Sendable {
    public let butterfly: ButterflyMatrix<Scalar>
    public let inputIsReal: Bool
    public let outputIsReal: Bool
    /// Gather indices: (P·x)[i] = x[p[i]].
    public let inputPermutation: [Int]?
    public let outputPermutation: [Int]?
    /// n complex factors, interleaved (re, im).
    public let outputDiagonal: [Scalar]?

    public init(butterfly: ButterflyMatrix<Scalar>, inputIsReal: Bool = false, outputIsReal: Bool = false,
                inputPermutation: [Int]? = nil, outputPermutation: [Int]? = nil, outputDiagonal: [Scalar]? = nil) throws {
        let n = butterfly.layout.n
        let real = butterfly.layout.field == .real
        guard !real || (inputIsReal && outputIsReal && outputDiagonal == nil) else {
            throw ButterflyError.unsupported(operation: "ButterflyTransform", message: "a real butterfly takes and returns real rows without a complex diagonal")
        }
        for p in [inputPermutation, outputPermutation].compactMap({ $0 }) {
            guard p.count == n else { throw ButterflyError.invalidPermutation("has \(p.count) entries; n = \(n)") }
            _ = try BitReversal.inverse(of: p)
        }
        if let d = outputDiagonal, d.count != 2 * n {
            throw ButterflyError.shapeMismatch(operation: "ButterflyTransform", message: "diagonal needs \(2 * n) scalars (n complex), got \(d.count)")
        }
        self.butterfly = butterfly
        self.inputIsReal = inputIsReal
        self.outputIsReal = outputIsReal
        self.inputPermutation = inputPermutation
        self.outputPermutation = outputPermutation
        self.outputDiagonal = outputDiagonal
    }

    public var n: Int { butterfly.layout.n }
    public var inputScalarsPerRow: Int { inputIsReal ? n : 2 * n }
    public var outputScalarsPerRow: Int { outputIsReal ? n : 2 * n }

    /// Applies the transform to every row of x, writing y (reshaped to fit).
    public func apply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, workspace: ButterflyWorkspace) throws {
        guard x.cols == inputScalarsPerRow else {
            throw ButterflyError.shapeMismatch(operation: "ButterflyTransform.apply", message: "rows must hold \(inputScalarsPerRow) scalars (n = \(n), \(inputIsReal ? "real" : "complex interleaved")), got \(x.cols)")
        }
        y.reshape(rows: x.rows, cols: outputScalarsPerRow)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                apply(input: input.baseAddress!, output: output.baseAddress!, batch: x.rows, workspace: workspace)
            }
        }
    }

    /// `apply(_:into:workspace:)` allocating its own output and workspace (convenience).
    public func callAsFunction(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        var y = Matrix<Scalar>(rows: 0, cols: 0)
        try apply(x, into: &y, workspace: ButterflyWorkspace())
        return y
    }

    /// The transform on raw row-major buffers of `batch` rows (e.g. an FFTW plan's arrays).
    public func apply(input: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>, batch: Int,
                      workspace: ButterflyWorkspace) {
        withOptionalPointer(inputPermutation) { p in
            withOptionalPointer(outputPermutation) { q in
                withOptionalPointer(outputDiagonal) { d in
                    butterfly.twiddles.withUnsafeBufferPointer { tw in
                        let mapping = ChunkMapping(realInput: inputIsReal, inputPermutation: p, outputPermutation: q,
                                                   outputDiagonal: d, realOutput: outputIsReal)
                        butterflyRun(layout: butterfly.layout, twiddles: tw.baseAddress!, input: input, output: output,
                                     batch: batch, mapping: mapping, workspace: workspace, save: false)
                    }
                }
            }
        }
    }
}

@inline(__always)
func withOptionalPointer<T, R>(_ array: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
