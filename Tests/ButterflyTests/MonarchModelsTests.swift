import Butterfly
import Foundation
import PixelflyModels
import PixelflyData
import PixelflyTraining
import PixelflyCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `LinearKind.monarch` and `.blockSparse` in ViT, Mixer and GPT: gradients, allocation-free
/// steps, configuration JSON and checkpoint resume.
@Suite("Models with Monarch and block-sparse linears", .serialized)
struct MonarchModelsTests {
    static let kinds: [LinearKind] = [.monarch(nblocks: 4), .blockSparse(.init(butterflySize: 4, factors: 1, blockSize: 2))]

    @Test(arguments: kinds)
    func wholeModelGradients(kind: LinearKind) throws {
        var rng = SeededRandom(seed: 31)
        var vit = VisionTransformerConfiguration.tiny
        vit.pooling = .mean
        vit.linear = kind
        let vitModel = try VisionTransformer<Double>(vit, rng: &rng)
        #expect(!vitModel.parameters.contains { $0.name == "blocks.0.mlp.fc1.weight" && $0.value.rows == 32 })
        try ModelsGradientTests.expectGradientsMatch(vitModel, ModelsGradientTests.images(2, seed: 32), "ViT \(kind)")
        var mixer = MLPMixerConfiguration.tiny
        mixer.tokenMixingLinear = kind
        mixer.channelMixingLinear = kind
        try ModelsGradientTests.expectGradientsMatch(try MLPMixer<Double>(mixer, rng: &rng), ModelsGradientTests.images(2, seed: 33), "Mixer \(kind)")
        var gpt = GPTConfiguration.tiny
        gpt.linear = kind
        try ModelsGradientTests.expectGradientsMatch(try GPT<Double>(gpt, rng: &rng), ModelsGradientTests.tokens(2, context: 16, seed: 34), "GPT \(kind)")
    }

    @Test func monarchParametersAreNamedLikeTheReference() throws {
        var rng = SeededRandom(seed: 35)
        let make: LinearFactory<Float> = LinearKind.monarch(nblocks: 64).factory()
        let layer = try #require(try make(16, 32, "blocks.0.mlp.fc1", &rng) as? MonarchLinear<Float>)
        #expect(layer.nblocks == 16, "nblocks is clamped to min(in, out)")
        #expect(layer.parameters.map(\.name) == ["blocks.0.mlp.fc1.blkdiag1", "blocks.0.mlp.fc1.blkdiag2", "blocks.0.mlp.fc1.bias"])
        #expect(throws: ShapeError.self) { _ = try LinearKind.monarch(nblocks: 0).factory()(16, 16, "x", &rng) as any LinearLayer<Float> }
        #expect(LinearKind.choices.contains("monarch") && LinearKind.choices.contains("blocksparse"))
    }

    @Test(arguments: kinds)
    func trainingStepIsAllocationFree(kind: LinearKind) throws {
        var model = ModelConfiguration.mixer(.tiny)
        model.setBlockLinear(kind)
        let (x, y) = TrainingAllocationTests.images()
        let count = try TrainingAllocationTests.allocationsInThirdStep(model, inputs: x, labels: y)
        #expect(count == 0, "\(count) allocations in a Mixer step with \(kind)")
    }

    /// The kinds survive the configuration JSON stored in every checkpoint.
    @Test func configurationJSONRoundTrips() throws {
        for kind in Self.kinds + [.dense, .butterfly, .lowRank(rank: 3)] {
            var model = ModelConfiguration.gpt(.tiny)
            model.setBlockLinear(kind)
            let configuration = TrainingConfiguration(model: model)
            let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(configuration))
            #expect(decoded == configuration, "\(kind)")
        }
    }

    /// Six steps straight equal three, a checkpoint, and three resumed — with Monarch linears
    /// (under one thread count: `TestThreadCount.stable`).
    @Test func monarchResumeReproducesUninterruptedRun() throws {
        var model = ModelConfiguration.mixer(.tiny)
        model.setBlockLinear(.monarch(nblocks: 4))
        let path = TrainingCheckpointTests.temporaryPath("monarch-resume")
        defer { unlink(path) }
        let (straight, firstHalf, secondHalf) = try TrainingCheckpointTests.straightAndResumed(model, checkpoint: path)
        #expect(try Checkpoint.read(from: path)["blocks.0.channel_mixing.fc1.blkdiag2"] != nil)
        #expect(firstHalf.stepLosses + secondHalf.stepLosses == straight.stepLosses)
    }
}
