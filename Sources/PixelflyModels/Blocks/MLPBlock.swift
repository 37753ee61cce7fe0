import PixelflyCore

/// The transformer / Mixer MLP: `y = fc2(gelu(fc1(x)))`, features → hidden → features.
///
/// Both linears come from the factory, so either can be dense, Pixelfly, low-rank or
/// butterfly. Backward chains the three pieces: ∂a = fc2ᵀ(∂y), ∂h = gelu′(h) ⊙ ∂a,
/// ∂x = fc1ᵀ(∂h), each linear accumulating its own parameter gradients. Where fc1 can run GELU
/// inside its forward kernel, and fc2 GELU's derivative inside its input-gradient kernel
/// (`GELUFusingLinear`: block-sparse and Pixelfly layers on LIBXSMM, Float), they do, and the
/// separate activation pass over the (batch × hidden) matrices is skipped; the results agree
/// up to rounding. Unless fc1 fuses and fc2 does not, the forward keeps gelu′(h) instead of h
/// (fused: `forward(_:geluDerivative:gelu:)`; otherwise `GELU.forward(keepingDerivativeIn:into:)`),
/// and the backward multiplies by it instead of computing it again from h (fused in fc2's
/// backward where fc2 fuses, a pass over fc2's input gradient where it does not).
public final class MLPBlock<Scalar: TensorScalar>: Layer {
    public let features: Int
    public let hiddenFeatures: Int
    public let fc1: any LinearLayer<Scalar>
    public let fc2: any LinearLayer<Scalar>
    private let activation = GELU<Scalar>()
    /// fc1 and fc2 where they can fuse GELU (checked per batch size).
    private let fc1GELU: (any GELUFusingLinear<Scalar>)?
    private let fc2GELU: (any GELUFusingLinear<Scalar>)?
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    /// fc1 output h (or gelu′(h): `hiddenIsDerivative`), GELU output a, and their gradients
    /// (a's only where fc1 fused GELU with h kept and fc2 does not fuse): reused across steps.
    private var hidden = Matrix<Scalar>(rows: 0, cols: 0)
    /// Whether the last forward left gelu′(h) in `hidden` rather than h.
    private var hiddenIsDerivative = false
    private var activated = Matrix<Scalar>(rows: 0, cols: 0)
    private var activatedGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var hiddenGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// - Parameters:
    ///   - features: input and output width.
    ///   - hiddenFeatures: width after fc1.
    ///   - name: parameter prefix; the linears are `name.fc1` and `name.fc2`.
    ///   - linear: makes fc1 (features → hidden) and fc2 (hidden → features).
    ///   - rng: draws the initial weights.
    public init(features: Int, hiddenFeatures: Int, name: String = "mlp",
                linear: LinearFactory<Scalar>, rng: inout SeededRandom) throws {
        guard features > 0, hiddenFeatures > 0 else {
            throw ShapeError("MLPBlock.init", "features and hidden features must be positive, got \(features) and \(hiddenFeatures)")
        }
        self.features = features
        self.hiddenFeatures = hiddenFeatures
        fc1 = try linear(features, hiddenFeatures, name + ".fc1", &rng)
        fc2 = try linear(hiddenFeatures, features, name + ".fc2", &rng)
        try Self.check(fc1, input: features, output: hiddenFeatures, "fc1")
        try Self.check(fc2, input: hiddenFeatures, output: features, "fc2")
        fc1GELU = fc1 as? any GELUFusingLinear<Scalar>
        fc2GELU = fc2 as? any GELUFusingLinear<Scalar>
    }

    static func check(_ layer: any LinearLayer<Scalar>, input: Int, output: Int, _ role: String) throws {
        guard layer.inputFeatures == input, layer.outputFeatures == output else {
            throw ShapeError("MLPBlock.init", "the factory made \(role) as \(layer.inputFeatures) → \(layer.outputFeatures); "
                + "it must be \(input) → \(output)")
        }
    }

    public var parameters: [Parameter<Scalar>] { fc1.parameters + fc2.parameters }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        forwardInput.record(x)
        hiddenIsDerivative = false
        if let fc1GELU, fc1GELU.fusesGELU(batch: x.rows) {
            if let fc2GELU, fc2GELU.fusesGELU(batch: x.rows) {
                try fc1GELU.forward(x, geluDerivative: &hidden, gelu: &activated)
                hiddenIsDerivative = true
            } else {
                try fc1GELU.forward(x, into: &hidden, gelu: &activated)
            }
        } else {
            try fc1.forward(x, into: &hidden)
            activation.forward(keepingDerivativeIn: &hidden, into: &activated)
            hiddenIsDerivative = true
        }
        try fc2.forward(activated, into: &y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard hidden.rows == x.rows else {
            throw ShapeError("MLPBlock.backward", "input has \(x.rows) rows but the last forward had \(hidden.rows); call forward first")
        }
        try forwardInput.check(x, "MLPBlock.backward")
        // Whichever of h and gelu′(h) the forward kept, fc2 may have changed backend since: each
        // pair of (what is kept, whether fc2 fuses now) has its own path.
        if let fc2GELU, fc2GELU.fusesGELU(batch: x.rows) {
            if hiddenIsDerivative {
                try fc2GELU.backward(input: activated, outputGradient: dy, geluDerivative: hidden, inputGradient: &hiddenGradient)
            } else {
                try fc2GELU.backward(input: activated, outputGradient: dy, geluInput: hidden, inputGradient: &hiddenGradient)
            }
        } else if hiddenIsDerivative {
            // fc2's input gradient da, turned into dh in place.
            try fc2.backward(input: activated, outputGradient: dy, inputGradient: &hiddenGradient)
            try activation.backward(derivative: hidden, gradientInPlace: &hiddenGradient)
        } else {
            try fc2.backward(input: activated, outputGradient: dy, inputGradient: &activatedGradient)
            try activation.backward(input: hidden, outputGradient: activatedGradient, inputGradient: &hiddenGradient)
        }
        try fc1.backward(input: x, outputGradient: hiddenGradient, inputGradient: &dx)
    }
}
