import PixelflyTraining
import PixelflyCore
import Synchronization
import Testing

/// `pixelfly-bench evaluate` without training: a checkpoint's held-out loss and accuracy equal
/// the evaluation `train` printed when it wrote the checkpoint.
@Suite("Evaluate: a checkpoint's held-out metrics without training", .serialized)
struct EvaluateCheckpointTests {
    ///
    /// The two evaluations agree bit for bit only under one thread count (work is split by
    /// `ComputeThreads.partCount`, and OpenBLAS's bits may depend on a band's size), and suites
    /// running in parallel change the process-wide count (`TestThreadCount`): a run during which
    /// one did is repeated (a fresh-clone `make test` once saw 6.6e-9 between them).
    @Test(arguments: ["mixer", "gpt"])
    func evaluationReproducesTheTrainingRun(_ model: String) throws {
        let directory = try TemporaryDirectory("evaluate-\(model)")
        defer { directory.remove() }
        var c = TrainingCheckpointTests.tinyRun(try ModelConfiguration.preset(model, size: "tiny"))
        c.checkpointPath = directory.file("train.safetensors")
        var result: TrainingResult, evaluation: CheckpointEvaluation
        var attempts = 0
        repeat {
            attempts += 1
            let changes = TestThreadCount.changes.load(ordering: .sequentiallyConsistent)
            result = try runTraining(c, log: { _ in })
            evaluation = try CheckpointEvaluation.evaluate(checkpoint: c.checkpointPath!, testLimit: c.testLimit)
            let unchanged = changes % 2 == 0 && TestThreadCount.changes.load(ordering: .sequentiallyConsistent) == changes
            if unchanged || attempts == 20 { break }
        } while true
        let last = try #require(result.evaluations.last)
        #expect(evaluation.model == model && evaluation.step == c.steps)
        #expect(abs(evaluation.loss - last.testLoss) <= 1e-9, "loss \(evaluation.loss) vs \(last.testLoss) in training")
        #expect(evaluation.accuracy == last.testAccuracy)
        #expect(evaluation.parameterCount == result.parameterCount)
        #expect(evaluation.examples == (model == "gpt" ? c.batchSize * 16 : 50))
    }
}
