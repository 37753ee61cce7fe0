import PixelflyTraining
import PixelflyCore
import Testing

/// `pixelfly-bench evaluate` without training: a checkpoint's held-out loss and accuracy equal
/// the evaluation `train` printed when it wrote the checkpoint.
@Suite("Evaluate: a checkpoint's held-out metrics without training", .serialized)
struct EvaluateCheckpointTests {
    /// Both runs inside one `TestThreadCount.stable` (results are bit-for-bit only per thread
    /// count; a fresh-clone `make test` once saw 6.6e-9 between them when another suite changed it).
    @Test(arguments: ["mixer", "gpt"])
    func evaluationReproducesTheTrainingRun(_ model: String) throws {
        let directory = try TemporaryDirectory("evaluate-\(model)")
        defer { directory.remove() }
        var c = TrainingCheckpointTests.tinyRun(try ModelConfiguration.preset(model, size: "tiny"))
        c.checkpointPath = directory.file("train.safetensors")
        let (result, evaluation) = try TestThreadCount.stable {
            (try runTraining(c, log: { _ in }), try CheckpointEvaluation.evaluate(checkpoint: c.checkpointPath!, testLimit: c.testLimit))
        }
        let last = try #require(result.evaluations.last)
        #expect(evaluation.model == model && evaluation.step == c.steps)
        #expect(abs(evaluation.loss - last.testLoss) <= 1e-9, "loss \(evaluation.loss) vs \(last.testLoss) in training")
        #expect(evaluation.accuracy == last.testAccuracy)
        #expect(evaluation.parameterCount == result.parameterCount)
        #expect(evaluation.examples == (model == "gpt" ? c.batchSize * 16 : 50))
    }
}
