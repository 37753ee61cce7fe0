import PixelflyCore

/// A trainable model: `forward(inputs, into: &logits)` and an explicit backward through every
/// block, with its parameters collected once under dotted names.
public protocol TrainableModel<Scalar>: Layer {
    /// Classes per logits row (10 for Fashion-MNIST, 256 for the byte-level GPT).
    var classCount: Int { get }

    /// `backward(input:outputGradient:inputGradient:)` that also reports its progress:
    /// `gradientsReady(i)` once the gradients of `parameters[i...]` are final (the backward pass
    /// finishes them from the last parameter towards the first), with i decreasing to 0. Data-
    /// parallel training starts reducing those gradients while the rest of the backward runs.
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  gradientsReady: (Int) throws -> Void) throws
}

extension TrainableModel {
    /// Reports all parameters at once, after the whole backward pass (no overlap).
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                         gradientsReady: (Int) throws -> Void) throws {
        try backward(input: x, outputGradient: dy, inputGradient: &dx)
        try gradientsReady(0)
    }
}

/// The pre-norm transformer blocks shared by ViT and GPT: for i in 0..<depth,
///
///     x ← x + Attention(LN(x)),   x ← x + MLP(LN(x))
///
/// named `blocks.i.attention.*` and `blocks.i.mlp.*`. Every projection comes from `linear`.
func makeTransformerBlocks<Scalar: TensorScalar>(
    depth: Int, width: Int, heads: Int, hiddenFeatures: Int, sequenceLength: Int, causal: Bool,
    scorePattern: AttentionScorePattern, linear: LinearFactory<Scalar>, rng: inout SeededRandom
) throws -> LayerSequence<Scalar> {
    guard depth > 0 else { throw ShapeError("TransformerBlocks", "depth must be positive, got \(depth)") }
    var layers: [any Layer<Scalar>] = []
    for i in 0..<depth {
        let attention = try MultiHeadSelfAttention<Scalar>(
            features: width, heads: heads, sequenceLength: sequenceLength, causal: causal,
            scorePattern: scorePattern, name: "blocks.\(i).attention", linear: linear, rng: &rng)
        layers.append(try PreNormResidual(features: width, body: attention, name: "blocks.\(i).attention"))
        let mlp = try MLPBlock<Scalar>(features: width, hiddenFeatures: hiddenFeatures, name: "blocks.\(i).mlp",
                                       linear: linear, rng: &rng)
        layers.append(try PreNormResidual(features: width, body: mlp, name: "blocks.\(i).mlp"))
    }
    return try LayerSequence(layers)
}

/// The attention score pattern as a configuration value: `{"kind": "dense"}` or
/// `{"kind": "flatButterfly", "blockSize": 8, "factors": 2}`.
public struct AttentionScoreConfiguration: Codable, Sendable, Equatable {
    public var kind: String
    public var blockSize: Int?
    public var factors: Int?

    public static let dense = AttentionScoreConfiguration(kind: "dense")

    public static func flatButterfly(blockSize: Int, factors: Int) -> AttentionScoreConfiguration {
        AttentionScoreConfiguration(kind: "flatButterfly", blockSize: blockSize, factors: factors)
    }

    public func pattern() throws -> AttentionScorePattern {
        switch (kind, blockSize, factors) {
        case ("dense", _, _): return .dense
        case ("flatButterfly", let size?, let factors?): return .flatButterfly(blockSize: size, factors: factors)
        default:
            throw ConfigurationError("AttentionScoreConfiguration", "unknown score pattern \(kind) (blockSize \(blockSize.map(String.init) ?? "nil"), factors \(factors.map(String.init) ?? "nil")); choose \"dense\" or \"flatButterfly\" with blockSize and factors")
        }
    }
}
