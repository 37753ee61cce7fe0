import PixelflyTraining
import PixelflyCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints of the whole training state, resume, and the non-finite-loss stop.
@Suite("Training: checkpoints and resume", .serialized)
struct TrainingCheckpointTests {
    static func temporaryPath(_ name: String) -> String { "/tmp/pixelfly-training-test-\(getpid())-\(name).safetensors" }

    static func tinyRun(_ model: ModelConfiguration) -> TrainingConfiguration {
        var c = TrainingConfiguration(model: model)
        c.steps = 6
        c.batchSize = 8
        c.trainingLimit = 64
        c.testLimit = 50
        c.evaluationInterval = 100
        c.evaluationBatches = 1
        c.seed = 5
        return c
    }

    static func makeTrainer(seed: UInt64) throws -> Trainer<Float> {
        try Trainer(model: ModelConfiguration.mixer(.tiny).makeModel(seed: seed, as: Float.self),
                    schedule: WarmupCosineSchedule(peak: 1e-3, warmupSteps: 1, totalSteps: 10),
                    loss: SoftmaxCrossEntropy(labelSmoothing: 0.1), hyperparameters: .init(), clipNorm: 1)
    }

    /// Parameters, both AdamW moments and the step survive a save/restore bit for bit.
    @Test func roundTripIsExact() throws {
        var rng = SeededRandom(seed: 1)
        let images = Matrix<Float>(rows: 4, cols: 784, initializer: .uniform(low: 0, high: 1), rng: &rng)
        let trained = try Self.makeTrainer(seed: 1)
        for _ in 0..<3 { try trained.step(inputs: images, labels: [0, 1, 2, 3]) }
        let path = Self.temporaryPath("roundtrip")
        defer { unlink(path) }
        try trained.saveCheckpoint(to: path, seed: 1, configurationJSON: "{}")
        let restored = try Self.makeTrainer(seed: 2)
        #expect(restored.parameters[0].value != trained.parameters[0].value)
        let metadata = try restored.restoreCheckpoint(from: path)
        #expect(metadata["step"] == "3" && metadata["seed"] == "1")
        #expect(restored.step == 3)
        for (a, b) in zip(trained.parameters, restored.parameters) { #expect(a.value == b.value, "\(a.name)") }
        #expect(trained.optimizer.firstMoments == restored.optimizer.firstMoments)
        #expect(trained.optimizer.secondMoments == restored.optimizer.secondMoments)
        // The next step is identical too.
        let next = try trained.step(inputs: images, labels: [0, 1, 2, 3])
        #expect(try restored.step(inputs: images, labels: [0, 1, 2, 3]) == next)
    }

    /// A checkpoint of another model is refused and leaves the parameters unchanged.
    @Test func mismatchedCheckpointThrows() throws {
        let path = Self.temporaryPath("mismatch")
        defer { unlink(path) }
        let vit = try Trainer(model: ModelConfiguration.vit(.tiny).makeModel(seed: 1, as: Float.self),
                              schedule: WarmupCosineSchedule(peak: 1e-3, warmupSteps: 1, totalSteps: 10),
                              loss: SoftmaxCrossEntropy(), hyperparameters: .init(), clipNorm: nil)
        try vit.saveCheckpoint(to: path, seed: 1, configurationJSON: "{}")
        let mixer = try Self.makeTrainer(seed: 1)
        let before = mixer.parameters.map(\.value)
        #expect(throws: CheckpointMismatchError.self) { try mixer.restoreCheckpoint(from: path) }
        #expect(mixer.parameters.map(\.value) == before)
        #expect(mixer.step == 0)
    }

    /// Training 6 steps straight equals training 3, checkpointing, and resuming for 3 more —
    /// every loss bit for bit (same process, so the same BLAS kernel; the same thread count
    /// through `TestThreadCount.stable`).
    @Test(arguments: [ModelConfiguration.vit(.tiny), .gpt(.tiny)])
    func resumeReproducesUninterruptedRun(model: ModelConfiguration) throws {
        let path = Self.temporaryPath("resume-\(model.name)")
        defer { unlink(path) }
        let (straight, firstHalf, secondHalf) = try Self.straightAndResumed(model, checkpoint: path)
        #expect(straight.stepLosses.count == 6)
        #expect(secondHalf.startStep == 3)
        #expect(firstHalf.stepLosses + secondHalf.stepLosses == straight.stepLosses)
        #expect(secondHalf.finalTestLoss == straight.finalTestLoss)
    }

    /// `tinyRun(model)` three ways under one thread count (`TestThreadCount.stable`): 6 steps
    /// straight; the first 3 with a checkpoint written to `checkpoint`; the last 3 resumed from it.
    static func straightAndResumed(_ model: ModelConfiguration, checkpoint path: String) throws
        -> (straight: TrainingResult, firstHalf: TrainingResult, secondHalf: TrainingResult) {
        try TestThreadCount.stable {
            let straight = try runTraining(tinyRun(model), log: { _ in })
            var first = tinyRun(model)
            first.stopAtStep = 3
            first.checkpointPath = path
            let firstHalf = try runTraining(first, log: { _ in })
            var second = tinyRun(model)
            second.resumePath = path
            return (straight, firstHalf, try runTraining(second, log: { _ in }))
        }
    }

    /// A NaN loss stops the step before any update and names the last good checkpoint, which
    /// stays byte for byte as it was.
    @Test func nonFiniteLossStopsWithoutUpdating() throws {
        let trainer = try Self.makeTrainer(seed: 3)
        let path = Self.temporaryPath("nan")
        defer { unlink(path) }
        try trainer.saveCheckpoint(to: path, seed: 3, configurationJSON: "{}")
        let saved = try readFileBytes(path)
        let before = trainer.parameters.map(\.value)
        var images = Matrix<Float>(rows: 2, cols: 784, repeating: 0.5)
        images[1, 17] = .nan
        do {
            try trainer.step(inputs: images, labels: [0, 1], checkpointPath: path)
            Issue.record("a NaN input trained without an error")
        } catch let error as NonFiniteLossError {
            #expect(error.step == 0)
            #expect(error.description.contains(path))
        }
        #expect(trainer.parameters.map(\.value) == before)
        #expect(trainer.step == 0)
        #expect(try readFileBytes(path) == saved)
    }
}
