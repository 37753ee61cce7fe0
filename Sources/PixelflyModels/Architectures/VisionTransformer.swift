import PixelflyCore

/// Configuration of a `VisionTransformer` for square single-channel images.
public struct VisionTransformerConfiguration: Codable, Sendable, Equatable {
    public var imageSize: Int
    public var patchSize: Int
    public var classes: Int
    /// Model width D.
    public var width: Int
    public var depth: Int
    public var heads: Int
    /// Hidden width of each MLP block.
    public var mlpHidden: Int
    public var pooling: Pooling
    /// The kind of every block linear (query, key, value, output, fc1, fc2).
    public var linear: LinearKind
    /// The kind of the patch embedding and the classifier head (dense in the paper).
    public var embeddingLinear: LinearKind
    public var attentionScores: AttentionScoreConfiguration

    /// 28×28 images, 7×7 patches (16 tokens), width 16, 1 block: for gradient checks.
    public static let tiny = VisionTransformerConfiguration(
        imageSize: 28, patchSize: 7, classes: 10, width: 16, depth: 1, heads: 2, mlpHidden: 32,
        pooling: .classToken, linear: .dense, embeddingLinear: .dense, attentionScores: .dense)

    /// 4×4 patches (49 tokens + class token), width 64, 4 blocks: Fashion-MNIST on a CPU.
    public static let small = VisionTransformerConfiguration(
        imageSize: 28, patchSize: 4, classes: 10, width: 64, depth: 4, heads: 4, mlpHidden: 256,
        pooling: .classToken, linear: .dense, embeddingLinear: .dense, attentionScores: .dense)

    public var tokens: Int { (imageSize / max(patchSize, 1)) * (imageSize / max(patchSize, 1)) + (pooling == .classToken ? 1 : 0) }
}

/// Vision Transformer (Dosovitskiy et al.): patches → linear embedding (+ class token) +
/// learned positions → pre-norm blocks → LayerNorm → pool → linear head.
///
/// Input (B, S·S) pixels, output (B, classes) logits. Backward runs through every piece and
/// also returns the gradient with respect to the pixels.
public final class VisionTransformer<Scalar: TensorScalar>: TrainableModel {
    public let configuration: VisionTransformerConfiguration
    public let grid: PatchGrid
    public let patchEmbedding: any LinearLayer<Scalar>
    /// (1, D), present with class-token pooling.
    public let classToken: Parameter<Scalar>?
    /// (T, D).
    public let positions: Parameter<Scalar>
    public let blocks: LayerSequence<Scalar>
    /// Final LayerNorm → pool (`configuration.pooling`) → head.
    let classifier: PooledClassifier<Scalar>
    public var finalNorm: LayerNorm<Scalar> { classifier.norm }
    public var head: any LinearLayer<Scalar> { classifier.head }
    public let parameters: [Parameter<Scalar>]
    /// Indices in `parameters` where the blocks' and the classifier's parameters start.
    private let blocksStart: Int, classifierStart: Int
    public var classCount: Int { configuration.classes }
    let tokens: Int

    private var patches = Matrix<Scalar>(rows: 0, cols: 0)
    private var embedded = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockInput = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutput = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutputGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockInputGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var embeddedGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var patchGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(_ configuration: VisionTransformerConfiguration, rng: inout SeededRandom) throws {
        let c = configuration
        self.configuration = c
        grid = try PatchGrid(imageSize: c.imageSize, patchSize: c.patchSize)
        tokens = c.tokens
        patchEmbedding = try c.embeddingLinear.factory()(grid.pixelsPerPatch, c.width, "patch_embedding", &rng)
        classToken = c.pooling == .classToken
            ? Parameter(name: "class_token", value: Matrix(rows: 1, cols: c.width, initializer: .normal(mean: 0, standardDeviation: 0.02), rng: &rng), weightDecay: false)
            : nil
        positions = Parameter(name: "positions", value: Matrix(rows: tokens, cols: c.width, initializer: .normal(mean: 0, standardDeviation: 0.02), rng: &rng), weightDecay: false)
        blocks = try makeTransformerBlocks(depth: c.depth, width: c.width, heads: c.heads, hiddenFeatures: c.mlpHidden,
                                           sequenceLength: tokens, causal: false, scorePattern: c.attentionScores.pattern(),
                                           linear: c.linear.factory(), rng: &rng)
        classifier = try PooledClassifier(norm: LayerNorm(features: c.width, name: "final_norm"),
                                          head: c.embeddingLinear.factory()(c.width, c.classes, "head", &rng),
                                          tokens: tokens, pooling: c.pooling)
        parameters = patchEmbedding.parameters + (classToken.map { [$0] } ?? []) + [positions]
            + blocks.parameters + classifier.parameters
        classifierStart = parameters.count - classifier.parameters.count
        blocksStart = classifierStart - blocks.parameters.count
    }

    public func forward(_ images: Matrix<Scalar>, into logits: inout Matrix<Scalar>) throws {
        try grid.patchify(images, into: &patches)
        try patchEmbedding.forward(patches, into: &embedded)
        let (batch, n) = (images.rows, grid.patchCount)
        if let classToken {
            blockInput.ensureShape(rows: batch * tokens, cols: configuration.width)
            for b in 0..<batch {
                TokenOperations.copyRow(classToken.value, 0, into: &blockInput, b * tokens)
                for p in 0..<n { TokenOperations.copyRow(embedded, b * n + p, into: &blockInput, b * tokens + 1 + p) }
            }
        } else {
            embedded.copy(into: &blockInput)
        }
        TokenOperations.addPositions(positions.value, to: &blockInput)
        try blocks.forward(blockInput, into: &blockOutput)
        try classifier.forward(blockOutput, into: &logits)
    }

    public func backward(input images: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dImages: inout Matrix<Scalar>) throws {
        try backward(input: images, outputGradient: dLogits, inputGradient: &dImages, gradientsReady: { _ in })
    }

    /// Parameters are patch embedding, class token, positions, blocks, final norm, head: the
    /// backward finishes them from the end.
    public func backward(input images: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dImages: inout Matrix<Scalar>, gradientsReady: (Int) throws -> Void) throws {
        let (blocksStart, classifierStart) = (blocksStart, classifierStart)
        try classifier.backward(input: blockOutput, outputGradient: dLogits, inputGradient: &blockOutputGradient,
                                gradientsReady: { try gradientsReady(classifierStart + $0) })
        try blocks.backward(input: blockInput, outputGradient: blockOutputGradient, inputGradient: &blockInputGradient,
                            gradientsReady: { try gradientsReady(blocksStart + $0) })
        try positions.updateGradient { TokenOperations.accumulatePositionGradient(blockInputGradient, into: &$0) }
        let (batch, n) = (images.rows, grid.patchCount)
        if let classToken {
            embeddedGradient.ensureShape(rows: batch * n, cols: configuration.width)
            for b in 0..<batch {
                try classToken.updateGradient { TokenOperations.addRow(blockInputGradient, b * tokens, into: &$0, 0) }
                for p in 0..<n { TokenOperations.copyRow(blockInputGradient, b * tokens + 1 + p, into: &embeddedGradient, b * n + p) }
            }
            try patchEmbedding.backward(input: patches, outputGradient: embeddedGradient, inputGradient: &patchGradient)
        } else {
            try patchEmbedding.backward(input: patches, outputGradient: blockInputGradient, inputGradient: &patchGradient)
        }
        try gradientsReady(0)
        try grid.unpatchify(patchGradient, into: &dImages)
    }
}
