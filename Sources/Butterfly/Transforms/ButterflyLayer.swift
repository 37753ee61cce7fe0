import PixelflyCore

/// A butterfly with learnable twiddles as a `Layer`: y = B·P·x for rows of n reals (real
/// field) or n complex numbers interleaved (complex field), with P an optional fixed input
/// gather (e.g. the bit reversal of Dao et al. 2019).
///
/// Forward keeps the input of every factor (batch·n·factors scalars, ×2 if complex) for the
/// backward pass; both reuse the layer's workspace, so a training loop that keeps its
/// buffers allocates nothing. Gradients (see `butterflyBackward`): twiddles accumulate, the
/// input gradient is overwritten.
public final class ButterflyLayer<Scalar: TensorScalar>: Layer {
    public let layout: ButterflyLayout
    public let inputPermutation: [Int]?
    /// 1 × `layout.twiddleScalarCount`, laid out as in `ButterflyLayout`.
    public let twiddles: Parameter<Scalar>
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    let workspace = ButterflyWorkspace()

    public init(_ butterfly: ButterflyMatrix<Scalar>, inputPermutation: [Int]? = nil, name: String = "butterfly") throws {
        if let p = inputPermutation {
            guard p.count == butterfly.layout.n else {
                throw ButterflyError.invalidPermutation("has \(p.count) entries; n = \(butterfly.layout.n)")
            }
            _ = try BitReversal.inverse(of: p)
        }
        layout = butterfly.layout
        self.inputPermutation = inputPermutation
        twiddles = Parameter(name: name + ".twiddles", value: butterfly.twiddles, weightDecay: false)
    }

    /// The current twiddles as a `ButterflyMatrix`. Cannot fail: `twiddles` is a `let`
    /// parameter created with the layout's size, and a `Parameter` keeps its shape.
    public var butterfly: ButterflyMatrix<Scalar> { try! ButterflyMatrix(layout: layout, twiddles: twiddles.value) }

    public var parameters: [Parameter<Scalar>] { [twiddles] }

    var scalarsPerRow: Int { layout.n * layout.scalarsPerElement }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        guard x.cols == scalarsPerRow else {
            throw ShapeError("ButterflyLayer.forward", "rows must hold \(scalarsPerRow) scalars (n = \(layout.n), \(layout.field)), got \(x.cols)")
        }
        forwardInput.record(x)
        y.reshape(rows: x.rows, cols: scalarsPerRow)
        run { mapping in
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    twiddles.value.withUnsafeBufferPointer { tw in
                        butterflyRun(layout: layout, twiddles: tw.baseAddress!, input: input.baseAddress!, output: output.baseAddress!,
                                     batch: x.rows, mapping: mapping, workspace: workspace, save: true)
                    }
                }
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard x.cols == scalarsPerRow, dy.cols == scalarsPerRow, dy.rows == x.rows else {
            throw ShapeError("ButterflyLayer.backward", "input \(x.rows)×\(x.cols) and output gradient \(dy.rows)×\(dy.cols) must both be batch×\(scalarsPerRow)")
        }
        guard workspace.savedKey == .init(layout: layout, batch: x.rows, scalarBytes: MemoryLayout<Scalar>.stride) else {
            throw ShapeError("ButterflyLayer.backward", "no activations for a batch of \(x.rows): call forward on the same input first")
        }
        try forwardInput.check(x, "ButterflyLayer.backward")
        dx.reshape(rows: x.rows, cols: scalarsPerRow)
        run { mapping in
            dy.withUnsafeBufferPointer { outputGradient in
                dx.withUnsafeMutableBufferPointer { inputGradient in
                    twiddles.value.withUnsafeBufferPointer { tw in
                        twiddles.withMutableGradientElements { dtw in
                            butterflyRunBackward(layout: layout, twiddles: tw.baseAddress!, outputGradient: outputGradient.baseAddress!,
                                                 inputGradient: inputGradient.baseAddress!, twiddleGradient: dtw.baseAddress!,
                                                 batch: x.rows, mapping: mapping, workspace: workspace)
                        }
                    }
                }
            }
        }
    }

    private func run(_ body: (ChunkMapping<Scalar>) -> Void) {
        withOptionalPointer(inputPermutation) { p in
            body(ChunkMapping(realInput: layout.field == .real, inputPermutation: p, realOutput: layout.field == .real))
        }
    }
}
