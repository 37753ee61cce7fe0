import PixelflyCore

/// The pre-norm residual wrapper of a transformer block: `y = x + f(LN(x))`.
///
/// Backward: ∂L/∂x = ∂L/∂y + LNᵀ(fᵀ(∂L/∂y)) — the skip path passes the gradient through
/// unchanged and the branch adds its own. `f` is any layer mapping features → features (an
/// `MLPBlock`, a `MultiHeadSelfAttention`). A body that can run the whole block itself
/// (`PreNormFusingLayer`: `DenseTokenMixing`, row block by row block) is handed the norm instead,
/// so that LN(x) and its gradient never pass through memory; the results are the same but for
/// the order in which the norm's γ and β gradients are summed.
public final class PreNormResidual<Scalar: TensorScalar>: Layer {
    public let norm: LayerNorm<Scalar>
    public let body: any Layer<Scalar>
    /// `body`, when it runs the norm and the residual itself.
    private let fusingBody: (any PreNormFusingLayer<Scalar>)?
    private var normalized = Matrix<Scalar>(rows: 0, cols: 0)
    private var bodyGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var normalizedGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// - Parameters:
    ///   - features: the width of x (the norm's features).
    ///   - body: f, mapping features → features.
    ///   - name: parameter prefix of the norm (`name.norm.weight`, `name.norm.bias`).
    ///   - epsilon: the norm's ε.
    public init(features: Int, body: any Layer<Scalar>, name: String = "residual", epsilon: Double = 1e-5) throws {
        norm = try LayerNorm(features: features, epsilon: epsilon, name: name + ".norm")
        self.body = body
        fusingBody = body as? any PreNormFusingLayer<Scalar>
    }

    public var parameters: [Parameter<Scalar>] { norm.parameters + body.parameters }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        if let fusingBody { return try fusingBody.forward(x, preNorm: norm, into: &y) }
        try norm.forward(x, into: &normalized)
        try body.forward(normalized, into: &y)
        try addResidual(x, to: &y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        if let fusingBody { return try fusingBody.backward(input: x, preNorm: norm, outputGradient: dy, inputGradient: &dx) }
        try body.backward(input: normalized, outputGradient: dy, inputGradient: &normalizedGradient)
        // The skip path's ∂L/∂y is added as the norm writes dx, not in a pass of its own.
        try norm.backward(input: x, outputGradient: normalizedGradient, addingSkipGradient: dy, inputGradient: &dx)
    }
}

/// A layer f that computes a whole pre-norm residual block `y = x + f(LN(x))` and its backward
/// itself, given the norm (whose parameters it reads and whose gradients it accumulates).
public protocol PreNormFusingLayer<Scalar>: Layer {
    func forward(_ x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>, into y: inout Matrix<Scalar>) throws
    /// dx = LNᵀ(fᵀ(dy)) + dy, overwriting `dx`; every parameter gradient (f's and the norm's) accumulates.
    func backward(input x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>, outputGradient dy: Matrix<Scalar>,
                  inputGradient dx: inout Matrix<Scalar>) throws
}
