import PixelflyCore

/// The end of a vision model (`VisionTransformer`, `MLPMixer`): token features (B·T, D) →
/// LayerNorm → one row per image by `pooling` (B, D) → linear head → logits (B, classes).
///
///     logits[b] = head(pool_t LN(h[b·T + t]))
///
/// Its parameters are the norm's, then the head's; `backward` reports them finished in that
/// order from the end (`gradientsReady(norm.parameters.count)` for the head, then
/// `gradientsReady(0)` for the norm), as the models' own backward passes do.
final class PooledClassifier<Scalar: TensorScalar>: Layer {
    let norm: LayerNorm<Scalar>
    let head: any LinearLayer<Scalar>
    /// T, the rows of each image's sequence.
    let tokens: Int
    let pooling: Pooling

    let parameters: [Parameter<Scalar>]
    /// Index of the head's first parameter in `parameters` (stored: `norm.parameters` builds an array).
    private let headStart: Int

    private var normalized = Matrix<Scalar>(rows: 0, cols: 0)
    private var pooled = Matrix<Scalar>(rows: 0, cols: 0)
    private var pooledGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var normalizedGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// `norm` must have the head's input width, `tokens` must be positive.
    init(norm: LayerNorm<Scalar>, head: any LinearLayer<Scalar>, tokens: Int, pooling: Pooling) throws {
        guard tokens > 0 else { throw ShapeError("PooledClassifier", "tokens per image must be positive, got \(tokens)") }
        guard norm.features == head.inputFeatures else {
            throw ShapeError("PooledClassifier", "the norm has \(norm.features) features but the head takes \(head.inputFeatures)")
        }
        (self.norm, self.head, self.tokens, self.pooling) = (norm, head, tokens, pooling)
        parameters = norm.parameters + head.parameters
        headStart = norm.parameters.count
    }

    func forward(_ features: Matrix<Scalar>, into logits: inout Matrix<Scalar>) throws {
        guard features.rows % tokens == 0 else {
            throw ShapeError("PooledClassifier", "\(features.rows) feature rows are not whole sequences of \(tokens) tokens")
        }
        try norm.forward(features, into: &normalized)
        TokenOperations.pool(normalized, tokens: tokens, pooling: pooling, into: &pooled)
        try head.forward(pooled, into: &logits)
    }

    func backward(input features: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                  inputGradient dFeatures: inout Matrix<Scalar>) throws {
        try backward(input: features, outputGradient: dLogits, inputGradient: &dFeatures, gradientsReady: { _ in })
    }

    /// Backward of the last `forward`, whose input was `features`.
    func backward(input features: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                  inputGradient dFeatures: inout Matrix<Scalar>, gradientsReady: (Int) throws -> Void) throws {
        try head.backward(input: pooled, outputGradient: dLogits, inputGradient: &pooledGradient)
        try gradientsReady(headStart)
        TokenOperations.poolBackward(pooledGradient, tokens: tokens, pooling: pooling, into: &normalizedGradient)
        try norm.backward(input: features, outputGradient: normalizedGradient, inputGradient: &dFeatures)
        try gradientsReady(0)
    }
}
