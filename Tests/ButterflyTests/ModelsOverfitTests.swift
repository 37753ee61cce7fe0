import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// Each tiny model memorises a small fixed batch: the training loss must fall below a stated
/// threshold. Images are random (so nothing but memorisation can lower the loss); the GPT sees
/// four fixed 16-byte windows of English text.
@Suite("Models: tiny models overfit a small batch")
struct ModelsOverfitTests {
    /// Trains `steps` steps on one batch; returns (first loss, last loss).
    static func overfit(_ configuration: ModelConfiguration, inputs: Matrix<Float>, labels: [Int],
                        steps: Int, learningRate: Double) throws -> (Double, Double) {
        let model: any TrainableModel<Float> = try configuration.makeModel(seed: 1)
        let trainer = try Trainer(model: model,
                                  schedule: WarmupCosineSchedule(peak: learningRate, warmupSteps: 5, totalSteps: steps),
                                  loss: SoftmaxCrossEntropy(), hyperparameters: .init(weightDecay: 0), clipNorm: 1)
        let first = try trainer.step(inputs: inputs, labels: labels)
        var last = first
        for _ in 1..<steps { last = try trainer.step(inputs: inputs, labels: labels) }
        let (final, _) = try trainer.evaluate(inputs: inputs, labels: labels)
        return (first, min(last, final))
    }

    static func randomImages(_ batch: Int) -> (Matrix<Float>, [Int]) {
        var rng = SeededRandom(seed: 42)
        let images = Matrix<Float>(rows: batch, cols: 28 * 28, initializer: .uniform(low: 0, high: 1), rng: &rng)
        return (images, (0..<batch).map { _ in rng.index(below: 10) })
    }

    static let threshold = 0.05

    @Test func visionTransformer() throws {
        let (images, labels) = Self.randomImages(16)
        let (first, last) = try Self.overfit(.vit(.tiny), inputs: images, labels: labels, steps: 250, learningRate: 3e-3)
        #expect(first > 1.5)
        #expect(last < Self.threshold, "ViT loss \(first) → \(last)")
    }

    @Test func mixer() throws {
        let (images, labels) = Self.randomImages(16)
        let (first, last) = try Self.overfit(.mixer(.tiny), inputs: images, labels: labels, steps: 250, learningRate: 3e-3)
        #expect(first > 1.5)
        #expect(last < Self.threshold, "Mixer loss \(first) → \(last)")
    }

    @Test func gpt() throws {
        let text = Array("The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs!".utf8)
        let (batch, context) = (4, GPTConfiguration.tiny.context)
        var inputs = Matrix<Float>(rows: batch, cols: context)
        var labels: [Int] = []
        for b in 0..<batch {
            for t in 0..<context {
                inputs[b, t] = Float(text[b * 17 + t])
                labels.append(Int(text[b * 17 + t + 1]))
            }
        }
        let (first, last) = try Self.overfit(.gpt(.tiny), inputs: inputs, labels: labels, steps: 300, learningRate: 1e-2)
        #expect(first > 5) // ln 256 ≈ 5.55 at initialisation
        #expect(last < 0.1, "GPT loss \(first) → \(last)")
    }
}
