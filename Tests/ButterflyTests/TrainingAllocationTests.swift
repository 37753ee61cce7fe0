import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// A steady-state training step (zero gradients, forward, loss, backward, clipping, schedule,
/// AdamW) allocates nothing on the heap. Measured with `countAllocations` (a malloc interposer
/// counting calls on the calling thread) around the fourth step, after two warm-up steps here
/// and one in `countAllocations` have sized every buffer.
@Suite("Training: allocation-free steady-state step", .serialized)
struct TrainingAllocationTests {
    static func allocationsInThirdStep(_ configuration: ModelConfiguration, inputs: Matrix<Float>, labels: [Int]) throws -> Int {
        let trainer = try Trainer(model: configuration.makeModel(seed: 3, as: Float.self),
                                  schedule: WarmupCosineSchedule(peak: 1e-3, warmupSteps: 2, totalSteps: 10),
                                  loss: SoftmaxCrossEntropy(labelSmoothing: 0.1), hyperparameters: .init(), clipNorm: 1)
        try trainer.step(inputs: inputs, labels: labels)
        try trainer.step(inputs: inputs, labels: labels)
        return try countAllocations { try trainer.step(inputs: inputs, labels: labels) }
    }

    static func images() -> (Matrix<Float>, [Int]) {
        var rng = SeededRandom(seed: 4)
        return (Matrix(rows: 4, cols: 784, initializer: .uniform(low: 0, high: 1), rng: &rng), [1, 2, 3, 4])
    }

    @Test func visionTransformerStep() throws {
        let (x, y) = Self.images()
        var butterfly = VisionTransformerConfiguration.tiny
        butterfly.pooling = .mean
        butterfly.attentionScores = .flatButterfly(blockSize: 4, factors: 1)
        for configuration in [VisionTransformerConfiguration.tiny, butterfly] {
            let count = try Self.allocationsInThirdStep(.vit(configuration), inputs: x, labels: y)
            #expect(count == 0, "\(count) allocations in a ViT step (\(configuration.attentionScores.kind))")
        }
    }

    @Test func mixerStep() throws {
        let (x, y) = Self.images()
        let count = try Self.allocationsInThirdStep(.mixer(.tiny), inputs: x, labels: y)
        #expect(count == 0, "\(count) allocations in a Mixer step")
    }

    @Test func gptStep() throws {
        let inputs = Matrix<Float>(rows: 2, cols: 16, repeating: 65)
        let count = try Self.allocationsInThirdStep(.gpt(.tiny), inputs: inputs, labels: Array(repeating: 66, count: 32))
        #expect(count == 0, "\(count) allocations in a GPT step")
    }
}
