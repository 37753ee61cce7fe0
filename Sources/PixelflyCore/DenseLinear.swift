/// The dense baseline: `y = x·Wᵀ + b`, one BLAS call each way.
///
/// Backward: `dx = dy·W`, `dW += dyᵀ·x`, `db += Σ_rows dy`.
public final class DenseLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    /// (out, in).
    public let weight: Parameter<Scalar>
    /// (1, out), or nil without bias.
    public let bias: Parameter<Scalar>?

    /// Kaiming-uniform weight (PyTorch's default, bound 1/√in) and uniform bias in ±1/√in.
    public init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true,
                name: String = "linear", rng: inout SeededRandom) throws {
        guard inputFeatures > 0, outputFeatures > 0 else {
            throw ShapeError("DenseLinear.init", "features must be positive, got in \(inputFeatures), out \(outputFeatures)")
        }
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = Parameter(name: name + ".weight",
                           value: Matrix(rows: outputFeatures, cols: inputFeatures, initializer: .linearDefault, rng: &rng),
                           weightDecay: true)
        let bound = 1 / Double(inputFeatures).squareRoot()
        self.bias = bias ? Parameter(name: name + ".bias",
                                     value: Matrix(rows: 1, cols: outputFeatures, initializer: .uniform(low: -bound, high: bound), rng: &rng),
                                     weightDecay: false) : nil
    }

    public var parameters: [Parameter<Scalar>] { [weight] + (bias.map { [$0] } ?? []) }
    public var forwardFLOPsPerRow: Int { 2 * inputFeatures * outputFeatures }
    public func denseWeight() -> Matrix<Scalar> { weight.value }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "DenseLinear.forward")
        if let bias {
            y.reshape(rows: x.rows, cols: outputFeatures)
            try broadcastRows(bias.value, into: &y)
            try gemm(x, .none, weight.value, .transposed, beta: 1, into: &y)
        } else {
            try gemm(x, .none, weight.value, .transposed, into: &y)
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "DenseLinear.backward")
        try weight.updateGradient { try gemm(dy, .transposed, x, .none, beta: 1, into: &$0) }
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        try gemm(dy, .none, weight.value, .none, into: &dx)
    }
}
