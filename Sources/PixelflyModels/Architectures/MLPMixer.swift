import PixelflyCore

/// Configuration of an `MLPMixer` for square single-channel images.
public struct MLPMixerConfiguration: Codable, Sendable, Equatable {
    public var imageSize: Int
    public var patchSize: Int
    public var classes: Int
    /// Channels C.
    public var width: Int
    public var depth: Int
    /// Hidden width of the token-mixing MLP (tokens → tokenHidden → tokens).
    public var tokenHidden: Int
    /// Hidden width of the channel-mixing MLP (C → channelHidden → C).
    public var channelHidden: Int
    /// Kind of the token-mixing linears.
    public var tokenMixingLinear: LinearKind
    /// Kind of the channel-mixing linears.
    public var channelMixingLinear: LinearKind
    /// Kind of the patch embedding and the classifier head.
    public var embeddingLinear: LinearKind

    /// 7×7 patches (16 tokens), 16 channels, 1 block: for gradient checks.
    public static let tiny = MLPMixerConfiguration(
        imageSize: 28, patchSize: 7, classes: 10, width: 16, depth: 1, tokenHidden: 32, channelHidden: 32,
        tokenMixingLinear: .dense, channelMixingLinear: .dense, embeddingLinear: .dense)

    /// 4×4 patches (49 tokens), 128 channels, 4 blocks: Fashion-MNIST on a CPU.
    public static let small = MLPMixerConfiguration(
        imageSize: 28, patchSize: 4, classes: 10, width: 128, depth: 4, tokenHidden: 64, channelHidden: 512,
        tokenMixingLinear: .dense, channelMixingLinear: .dense, embeddingLinear: .dense)

    public var tokens: Int { (imageSize / max(patchSize, 1)) * (imageSize / max(patchSize, 1)) }
}

/// MLP-Mixer (Tolstikhin et al.): patches → linear embedding → blocks of
///
///     x ← x + TokenMixingMLP(LN(x))   (along the token axis, on the transposed layout)
///     x ← x + ChannelMixingMLP(LN(x))
///
/// → LayerNorm → mean over tokens → linear head. Input (B, S·S), output (B, classes).
public final class MLPMixer<Scalar: TensorScalar>: TrainableModel {
    public let configuration: MLPMixerConfiguration
    public let grid: PatchGrid
    public let patchEmbedding: any LinearLayer<Scalar>
    public let blocks: LayerSequence<Scalar>
    /// Final LayerNorm → mean over tokens → head.
    let classifier: PooledClassifier<Scalar>
    public var finalNorm: LayerNorm<Scalar> { classifier.norm }
    public var head: any LinearLayer<Scalar> { classifier.head }
    public let parameters: [Parameter<Scalar>]
    public var classCount: Int { configuration.classes }
    /// Indices in `parameters` where the blocks' and the classifier's parameters start.
    private let blocksStart: Int, classifierStart: Int

    private var patches = Matrix<Scalar>(rows: 0, cols: 0)
    private var embedded = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutput = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutputGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var embeddedGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var patchGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(_ configuration: MLPMixerConfiguration, rng: inout SeededRandom) throws {
        let c = configuration
        self.configuration = c
        grid = try PatchGrid(imageSize: c.imageSize, patchSize: c.patchSize)
        guard c.depth > 0 else { throw ShapeError("MLPMixer", "depth must be positive, got \(c.depth)") }
        patchEmbedding = try c.embeddingLinear.factory()(grid.pixelsPerPatch, c.width, "patch_embedding", &rng)
        var layers: [any Layer<Scalar>] = []
        for i in 0..<c.depth {
            let tokenMixing = try Self.tokenMixing(c, name: "blocks.\(i).token_mixing", rng: &rng)
            layers.append(try PreNormResidual(features: c.width, body: tokenMixing, name: "blocks.\(i).token_mixing"))
            let channelMixing = try MLPBlock<Scalar>(features: c.width, hiddenFeatures: c.channelHidden,
                                                     name: "blocks.\(i).channel_mixing", linear: c.channelMixingLinear.factory(), rng: &rng)
            layers.append(try PreNormResidual(features: c.width, body: channelMixing, name: "blocks.\(i).channel_mixing"))
        }
        blocks = try LayerSequence(layers)
        classifier = try PooledClassifier(norm: LayerNorm(features: c.width, name: "final_norm"),
                                          head: c.embeddingLinear.factory()(c.width, c.classes, "head", &rng),
                                          tokens: grid.patchCount, pooling: .mean)
        parameters = patchEmbedding.parameters + blocks.parameters + classifier.parameters
        blocksStart = patchEmbedding.parameters.count
        classifierStart = blocksStart + blocks.parameters.count
    }

    /// Dense token mixing runs per sequence without transposes (`DenseTokenMixing`); other kinds
    /// go through the transposed layout (`TokenMixing`). Both draw the same weights from `rng`.
    static func tokenMixing(_ c: MLPMixerConfiguration, name: String, rng: inout SeededRandom) throws -> any Layer<Scalar> {
        if c.tokenMixingLinear == .dense {
            return try DenseTokenMixing<Scalar>(tokens: c.tokens, channels: c.width, hiddenFeatures: c.tokenHidden, name: name, rng: &rng)
        }
        return try TokenMixing<Scalar>(tokens: c.tokens, channels: c.width, hiddenFeatures: c.tokenHidden,
                                       name: name, linear: c.tokenMixingLinear.factory(), rng: &rng)
    }

    public func forward(_ images: Matrix<Scalar>, into logits: inout Matrix<Scalar>) throws {
        try grid.patchify(images, into: &patches)
        try patchEmbedding.forward(patches, into: &embedded)
        try blocks.forward(embedded, into: &blockOutput)
        try classifier.forward(blockOutput, into: &logits)
    }

    public func backward(input images: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dImages: inout Matrix<Scalar>) throws {
        try backward(input: images, outputGradient: dLogits, inputGradient: &dImages, gradientsReady: { _ in })
    }

    /// Parameters are patch embedding, blocks, final norm, head: the backward finishes them from the end.
    public func backward(input images: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dImages: inout Matrix<Scalar>, gradientsReady: (Int) throws -> Void) throws {
        let (blocksStart, classifierStart) = (blocksStart, classifierStart)
        try classifier.backward(input: blockOutput, outputGradient: dLogits, inputGradient: &blockOutputGradient,
                                gradientsReady: { try gradientsReady(classifierStart + $0) })
        try blocks.backward(input: embedded, outputGradient: blockOutputGradient, inputGradient: &embeddedGradient,
                            gradientsReady: { try gradientsReady(blocksStart + $0) })
        try patchEmbedding.backward(input: patches, outputGradient: embeddedGradient, inputGradient: &patchGradient)
        try gradientsReady(0)
        try grid.unpatchify(patchGradient, into: &dImages)
    }
}
