import Butterfly
import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// Whole-model gradient checks: every parameter tensor and the input of tiny ViT, Mixer and GPT
/// configurations against central finite differences in Double (`gradientCheck`, L = Σ y ⊙ G).
@Suite("Models: whole-model gradient checks")
struct ModelsGradientTests {
    static let tolerance = 1e-5

    static func images(_ batch: Int, seed: UInt64) -> Matrix<Double> {
        var rng = SeededRandom(seed: seed)
        return Matrix(rows: batch, cols: 28 * 28, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
    }

    static func tokens(_ batch: Int, context: Int, seed: UInt64) -> Matrix<Double> {
        var rng = SeededRandom(seed: seed)
        var m = Matrix<Double>(rows: batch, cols: context)
        for i in 0..<batch { for j in 0..<context { m[i, j] = Double(rng.index(below: 256)) } }
        return m
    }

    /// Parameters whose true gradient is exactly zero, so a relative comparison is meaningless:
    /// a key bias adds q·b to every score of a row, which the softmax cancels; the token-mixing
    /// fc2 bias adds the same value to every channel of a token, which the next LayerNorm
    /// cancels. For these the analytic gradient must be zero to rounding instead.
    static func hasStructurallyZeroGradient(_ name: String) -> Bool {
        name.hasSuffix("attention.key.bias") || name.hasSuffix("token_mixing.fc2.bias")
    }

    static func expectGradientsMatch<M: Layer>(_ model: M, _ input: Matrix<Double>, _ label: String) throws where M.Scalar == Double {
        let result = try gradientCheck(model, input: input, samples: 8)
        #expect(result.errors.count == model.parameters.count + 1)
        let checked = result.errors.filter { !hasStructurallyZeroGradient($0.0) }
        let worst = checked.map(\.1).max() ?? 0
        #expect(worst < tolerance, "\(label): \(result)")
        for parameter in model.parameters where hasStructurallyZeroGradient(parameter.name) {
            let largest = parameter.gradient.storage.map(abs).max() ?? 0
            #expect(largest < 1e-12, "\(label): \(parameter.name) should have a zero gradient, has \(largest)")
        }
    }

    static let scorePatterns: [AttentionScoreConfiguration] = [.dense, .flatButterfly(blockSize: 4, factors: 1)]

    @Test(arguments: [Pooling.classToken, .mean])
    func visionTransformerDense(pooling: Pooling) throws {
        var configuration = VisionTransformerConfiguration.tiny
        configuration.pooling = pooling
        var rng = SeededRandom(seed: 1)
        let model = try VisionTransformer<Double>(configuration, rng: &rng)
        try Self.expectGradientsMatch(model, Self.images(2, seed: 2), "ViT \(pooling)")
    }

    /// 16 patch tokens in 4 blocks of 4: the flat butterfly score pattern with one factor.
    @Test func visionTransformerButterflyScores() throws {
        var configuration = VisionTransformerConfiguration.tiny
        configuration.pooling = .mean
        configuration.attentionScores = .flatButterfly(blockSize: 4, factors: 1)
        var rng = SeededRandom(seed: 3)
        let model = try VisionTransformer<Double>(configuration, rng: &rng)
        try Self.expectGradientsMatch(model, Self.images(2, seed: 4), "ViT butterfly scores")
    }

    @Test func mixer() throws {
        var rng = SeededRandom(seed: 5)
        let model = try MLPMixer<Double>(.tiny, rng: &rng)
        try Self.expectGradientsMatch(model, Self.images(2, seed: 6), "Mixer")
    }

    @Test(arguments: [true, false], scorePatterns)
    func gpt(tied: Bool, scores: AttentionScoreConfiguration) throws {
        var configuration = GPTConfiguration.tiny
        configuration.tiedHead = tied
        configuration.attentionScores = scores
        var rng = SeededRandom(seed: 7)
        let model = try GPT<Double>(configuration, rng: &rng)
        try Self.expectGradientsMatch(model, Self.tokens(2, context: configuration.context, seed: 8), "GPT tied \(tied) \(scores.kind)")
    }

    /// B = 4, K = 1, 2×2 blocks, rank 2: a genuinely sparse + low-rank layer at width 16.
    static let pixelfly = LinearKind.pixelfly(PixelflySettings(
        mask: .init(butterflySize: 4, factors: 1, blockSize: 2), rank: 2, combination: .sum))
    static let gatedPixelfly = LinearKind.pixelfly(PixelflySettings(
        mask: .init(butterflySize: 4, factors: 1, blockSize: 2), rank: 2, combination: .gated))

    /// Every block linear Pixelfly (attention q/k/v/output, MLPs; both Mixer MLPs), with and
    /// without the butterfly score pattern, and the gated combination.
    @Test(arguments: [pixelfly, gatedPixelfly])
    func pixelflyModels(kind: LinearKind) throws {
        var rng = SeededRandom(seed: 11)
        for scores in Self.scorePatterns {
            var vit = ModelConfiguration.vit(.tiny)
            try vit.setAttentionScores(scores)
            if case .vit(var c) = vit { c.pooling = .mean; vit = .vit(c) }
            vit.setBlockLinear(kind)
            let vitModel = try VisionTransformer<Double>({ if case .vit(let c) = vit { return c }; fatalError() }(), rng: &rng)
            #expect(vitModel.parameters.contains { $0.name == "blocks.0.attention.output.sparse.weight" })
            try Self.expectGradientsMatch(vitModel, Self.images(2, seed: 12), "ViT \(kind) \(scores.kind)")
            var gpt = GPTConfiguration.tiny
            gpt.linear = kind
            gpt.attentionScores = scores
            try Self.expectGradientsMatch(try GPT<Double>(gpt, rng: &rng), Self.tokens(2, context: 16, seed: 13), "GPT \(kind) \(scores.kind)")
        }
        var mixer = MLPMixerConfiguration.tiny
        mixer.tokenMixingLinear = kind
        mixer.channelMixingLinear = kind
        try Self.expectGradientsMatch(try MLPMixer<Double>(mixer, rng: &rng), Self.images(2, seed: 14), "Mixer \(kind)")
    }

    @Test(arguments: [LinearKind.lowRank(rank: 3), .butterfly])
    func structuredMixer(kind: LinearKind) throws {
        var mixer = MLPMixerConfiguration.tiny
        mixer.tokenMixingLinear = kind
        mixer.channelMixingLinear = kind
        var rng = SeededRandom(seed: 15)
        let model = try MLPMixer<Double>(mixer, rng: &rng)
        #expect(!model.parameters.contains { $0.name == "blocks.0.channel_mixing.fc1.weight" })
        try Self.expectGradientsMatch(model, Self.images(2, seed: 16), "Mixer \(kind)")
    }

    /// `--linear pixelfly --budget f`: each layer gets the allocator's mask and rank.
    @Test func pixelflyBudgetKindBuildsAllocatedLayers() throws {
        var rng = SeededRandom(seed: 19)
        let make: LinearFactory<Float> = LinearKind.pixelflyBudget(targetFraction: 0.3).factory()
        let layer = try make(256, 1024, "blocks.0.mlp.fc1", &rng)
        let budget = try PixelflyBudget.allocate(outputFeatures: 1024, inputFeatures: 256, targetFraction: 0.3)
        let pixelfly = try #require(layer as? PixelflyLinear<Float>)
        #expect(pixelfly.lowRank.rank == budget.rank)
        #expect(pixelfly.sparse.layout == BlockSparseLayout(mask: try FlatButterflyMask(outputFeatures: 1024, inputFeatures: 256, configuration: budget.configuration)))
        #expect(throws: (any Error).self) { _ = try make(16, 16, "too-narrow", &rng) }
    }

    @Test func butterflyGPT() throws {
        var gpt = GPTConfiguration.tiny
        gpt.linear = .butterfly
        var rng = SeededRandom(seed: 17)
        try Self.expectGradientsMatch(try GPT<Double>(gpt, rng: &rng), Self.tokens(2, context: 16, seed: 18), "GPT butterfly")
    }

    /// Parameter names are dotted, unique and cover the blocks.
    @Test func parameterNames() throws {
        var rng = SeededRandom(seed: 9)
        let vit = try VisionTransformer<Float>(.tiny, rng: &rng)
        let names = vit.parameters.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.contains("blocks.0.attention.query.weight"))
        #expect(names.contains("blocks.0.mlp.fc2.bias"))
        #expect(names.contains("blocks.0.attention.norm.weight"))
        #expect(names.first == "patch_embedding.weight")
        let mixer = try MLPMixer<Float>(.tiny, rng: &rng)
        #expect(mixer.parameters.map(\.name).contains("blocks.0.token_mixing.fc1.weight"))
        let gpt = try GPT<Float>(.tiny, rng: &rng)
        #expect(gpt.parameters.map(\.name).contains("token_embedding"))
        #expect(!gpt.parameters.map(\.name).contains("head.weight"))
    }

    @Test func badInputsThrow() throws {
        var rng = SeededRandom(seed: 10)
        let gpt = try GPT<Float>(.tiny, rng: &rng)
        #expect(throws: ShapeError.self) { try gpt(Matrix<Float>(rows: 1, cols: 15)) }
        #expect(throws: ShapeError.self) { try gpt(Matrix<Float>(rows: 1, cols: 16, repeating: 256)) }
        #expect(throws: ShapeError.self) { try gpt(Matrix<Float>(rows: 1, cols: 16, repeating: 1.5)) }
        let vit = try VisionTransformer<Float>(.tiny, rng: &rng)
        #expect(throws: ShapeError.self) { try vit(Matrix<Float>(rows: 1, cols: 783)) }
        var bad = VisionTransformerConfiguration.tiny
        bad.patchSize = 5
        #expect(throws: ShapeError.self) { try VisionTransformer<Float>(bad, rng: &rng) }
        bad = .tiny
        bad.attentionScores = .flatButterfly(blockSize: 3, factors: 1)
        #expect(throws: ShapeError.self) { try VisionTransformer<Float>(bad, rng: &rng) }
    }
}
