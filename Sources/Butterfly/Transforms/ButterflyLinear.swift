import PixelflyCore

/// A learned real butterfly as a drop-in linear layer: y = (B·x̂)[0..<out] + b, where x̂ is x
/// zero-padded to n = the next power of two ≥ max(in, out).
///
/// So W = B[0..<out, 0..<in]: square power-of-two layers use B as is; rectangular ones pad
/// the input and truncate the output (documented choice; stacking several butterflies is the
/// alternative when out ≫ in). Parameters 2n·log₂n per product (+ out bias) instead of in·out;
/// forward FLOPs 3n·log₂n per row and product. Twiddles start N(0, ½), which keeps E‖B·x‖² =
/// ‖x‖²; bias U(±1/√in) as `DenseLinear`. Backward: the butterfly's (see `butterflyBackward`),
/// with the padding columns dropped from ∂L/∂x. The steady state allocates nothing.
public final class ButterflyLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let butterfly: ButterflyLayer<Scalar>
    public let bias: Parameter<Scalar>?
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    private var paddedInput = Matrix<Scalar>(rows: 0, cols: 0)
    private var paddedOutput = Matrix<Scalar>(rows: 0, cols: 0)
    private var paddedGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var paddedInputGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true, products: [StrideOrder] = [.increasing],
                name: String = "butterfly", rng: inout SeededRandom) throws {
        guard inputFeatures > 0, outputFeatures > 0 else {
            throw ShapeError("ButterflyLinear.init", "features must be positive, got in \(inputFeatures), out \(outputFeatures)")
        }
        var n = 2
        while n < max(inputFeatures, outputFeatures) { n *= 2 }
        let layout = try ButterflyLayout(n: n, field: .real, sharing: .perPair, products: products)
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        butterfly = try ButterflyLayer(ButterflyMatrix.random(layout: layout, rng: &rng), name: name)
        let bound = 1 / Double(inputFeatures).squareRoot()
        self.bias = bias ? Parameter(name: name + ".bias",
                                     value: Matrix(rows: 1, cols: outputFeatures, initializer: .uniform(low: -bound, high: bound), rng: &rng),
                                     weightDecay: false) : nil
    }

    public var n: Int { butterfly.layout.n }
    public var parameters: [Parameter<Scalar>] { butterfly.parameters + (bias.map { [$0] } ?? []) }
    public var forwardFLOPsPerRow: Int { 3 * n * butterfly.layout.factorCount }

    public func denseWeight() -> Matrix<Scalar> {
        let full = butterfly.butterfly.dense().re
        var w = Matrix<Scalar>(rows: outputFeatures, cols: inputFeatures)
        for i in 0..<outputFeatures { for j in 0..<inputFeatures { w[i, j] = Scalar(full[i, j]) } }
        return w
    }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "ButterflyLinear.forward")
        forwardInput.record(x)
        copyColumns(x, into: &paddedInput, width: n)
        try butterfly.forward(paddedInput, into: &paddedOutput)
        copyColumns(paddedOutput, into: &y, width: outputFeatures)
        if let bias { addRowVector(bias.value, to: &y) }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "ButterflyLinear.backward")
        try forwardInput.check(x, "ButterflyLinear.backward")
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        copyColumns(dy, into: &paddedGradient, width: n)
        try butterfly.backward(input: paddedInput, outputGradient: paddedGradient, inputGradient: &paddedInputGradient)
        copyColumns(paddedInputGradient, into: &dx, width: inputFeatures)
    }
}

/// `destination` = the first `width` columns of `source`, zero-padded if `width` is larger.
private func copyColumns<S: TensorScalar>(_ source: Matrix<S>, into destination: inout Matrix<S>, width: Int) {
    destination.reshape(rows: source.rows, cols: width)
    let copied = min(width, source.cols)
    source.withUnsafeBufferPointer { from in
        destination.withUnsafeMutableBufferPointer { to in
            for r in 0..<source.rows {
                let row = to.baseAddress! + r * width
                row.update(from: from.baseAddress! + r * source.cols, count: copied)
                if width > copied { (row + copied).update(repeating: 0, count: width - copied) }
            }
        }
    }
}

/// Adds the 1×cols row vector `v` to every row of `y`.
private func addRowVector<S: TensorScalar>(_ v: Matrix<S>, to y: inout Matrix<S>) {
    let cols = y.cols
    v.withUnsafeBufferPointer { b in
        y.withUnsafeMutableBufferPointer { out in
            for r in 0..<(out.count / max(cols, 1)) {
                S.axpy(count: cols, alpha: 1, x: b.baseAddress!, y: out.baseAddress! + r * cols)
            }
        }
    }
}
