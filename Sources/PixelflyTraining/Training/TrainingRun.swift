import Foundation
import PixelflyCore
import PixelflyData

/// Trains the configured model on its data set and evaluates it on the held-out split.
///
/// Fixed seeds (model: `seed`; data order: `seed + 1`) make a run reproducible for a given
/// OpenBLAS kernel and thread count. With `resumePath` the parameters, AdamW moments and step
/// are restored and the data stream is replayed to that step, so the run continues the same
/// trajectory. A checkpoint (if `checkpointPath` is set) is written atomically at every
/// evaluation and at the end. A non-finite loss throws `NonFiniteLossError` before the
/// parameters are touched, leaving the last checkpoint as it was.
///
/// `log` receives a progress line every `logInterval` steps and one per evaluation.
/// `beforeStep` runs before every training step with the number of steps done so far, outside
/// the step's timing (the default job uses it to interleave two training processes in blocks
/// of steps: `StepGate` in pixelfly-bench).
///
/// Data-parallel (with a `communicator`, see `DataParallelTraining.swift`): every rank calls
/// this with the same configuration; the global batch `batchSize` is split over the ranks, and
/// only rank 0 logs and writes checkpoints.
public func runTraining(_ configuration: TrainingConfiguration,
                        communicator: (any DataParallelCommunicator<Float>)? = nil,
                        log: (String) -> Void = { print($0) },
                        beforeStep: (Int) throws -> Void = { _ in }) throws -> TrainingResult {
    let shard = communicator.map { DataShard(rank: $0.rank, size: $0.size) } ?? .single
    func report(_ line: String) { if shard.rank == 0 { log(line) } }
    do {
        try configuration.validate()
        _ = try shard.rows(ofBatch: configuration.batchSize)
    } catch {
        throw communicator == nil ? error : CollectiveError(error)
    }
    var source: any BatchSource
    switch configuration.model {
    case .gpt(let gpt): source = try TextBatches(configuration, context: gpt.context, shard: shard)
    default: source = try ImageBatches(configuration, shard: shard)
    }
    let totalSteps = configuration.steps ?? configuration.epochs * source.stepsPerEpoch
    let schedule = try WarmupCosineSchedule(
        peak: configuration.learningRate, warmupSteps: min(configuration.warmupSteps ?? totalSteps / 20, totalSteps),
        totalSteps: totalSteps, minimum: min(configuration.minimumLearningRate, configuration.learningRate))
    let trainer = try Trainer(
        model: configuration.model.makeModel(seed: configuration.seed, as: Float.self), schedule: schedule,
        loss: SoftmaxCrossEntropy(labelSmoothing: configuration.labelSmoothing),
        hyperparameters: .init(weightDecay: configuration.weightDecay), clipNorm: configuration.clipNorm,
        communicator: communicator)
    let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)

    if let communicator {
        try checkRanksShareTheConfiguration(configuration, trainer: trainer, communicator: communicator)
        try resumeOnRankZero(configuration, trainer: trainer, communicator: communicator)
        try trainer.broadcastStateFromRankZero()
        do { try trainer.checkRanksHoldTheSameState("at start-up") } catch { throw CollectiveError(error) }
        if configuration.resumePath != nil { source.skip(steps: trainer.step) }
    } else if let resumePath = configuration.resumePath {
        try resume(trainer, from: resumePath, seed: configuration.seed, model: configuration.model)
        source.skip(steps: trainer.step)
    }
    if let resumePath = configuration.resumePath { report("resumed \(resumePath) at step \(trainer.step)") }
    let startStep = trainer.step
    let evaluationInterval = configuration.evaluationInterval
        ?? (configuration.model.isLanguageModel ? max(1, totalSteps / 10) : source.stepsPerEpoch)
    let parameterCount = trainer.parameters.reduce(0) { $0 + $1.count }
    let ranks = shard.size == 1 ? "" : " over \(shard.size) ranks (\(configuration.batchSize / shard.size) rows each)"
    report("\(configuration.model.name): \(parameterCount) parameters, \(totalSteps) steps of batch \(configuration.batchSize)\(ranks) "
        + "(\(source.stepsPerEpoch) per epoch), \(OpenBLASRuntime.summary)")

    var inputs = Matrix<Float>(rows: 0, cols: 0)
    var labels: [Int] = []
    var stepLosses: [Double] = []
    var stepSeconds: [Double] = []
    stepLosses.reserveCapacity(totalSteps - startStep)
    stepSeconds.reserveCapacity(totalSteps - startStep)
    var evaluations: [EvaluationRecord] = []
    var (lossSinceEvaluation, stepsSinceEvaluation, trainingSeconds) = (0.0, 0, 0.0)
    var lastCheckpoint: String? = configuration.resumePath
    let runStart = monotonicSeconds()

    let lastStep = min(totalSteps, configuration.stopAtStep ?? totalSteps)
    while trainer.step < lastStep {
        try beforeStep(trainer.step)
        try source.nextBatch(inputs: &inputs, labels: &labels)
        let start = monotonicSeconds()
        let loss = try trainer.step(inputs: inputs, labels: labels, checkpointPath: lastCheckpoint)
        let seconds = monotonicSeconds() - start
        trainingSeconds += seconds
        stepSeconds.append(seconds)
        stepLosses.append(loss)
        lossSinceEvaluation += loss
        stepsSinceEvaluation += 1
        let step = trainer.step
        if step % configuration.logInterval == 0 {
            report(String(format: "step %d/%d  loss %.4f  lr %.2e  %.1f ms/step", step, totalSteps, loss,
                       schedule.learningRate(at: step - 1), seconds * 1e3))
        }
        if step % evaluationInterval == 0 || step == lastStep {
            let (testLoss, accuracy) = try evaluate(source, trainer, communicator: communicator)
            let record = EvaluationRecord(
                step: step, epoch: Double(step) / Double(source.stepsPerEpoch),
                trainingLoss: lossSinceEvaluation / Double(max(stepsSinceEvaluation, 1)), testLoss: testLoss,
                testAccuracy: accuracy, trainingSeconds: trainingSeconds, elapsedSeconds: monotonicSeconds() - runStart)
            evaluations.append(record)
            (lossSinceEvaluation, stepsSinceEvaluation) = (0, 0)
            report(String(format: "eval step %d (epoch %.2f): train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.1f s training",
                       step, record.epoch, record.trainingLoss, testLoss, accuracy * 100, trainingSeconds))
            if communicator != nil {
                do { try trainer.checkRanksHoldTheSameState("after step \(step)") } catch { throw CollectiveError(error) }
            }
            if let path = configuration.checkpointPath, shard.rank == 0 {
                try trainer.saveCheckpoint(to: path, seed: configuration.seed, configurationJSON: configurationJSON)
                lastCheckpoint = path
            }
        }
    }
    let sorted = stepSeconds.sorted()
    return TrainingResult(
        configuration: configuration, parameterCount: parameterCount, totalSteps: totalSteps, startStep: startStep,
        evaluations: evaluations, stepLosses: stepLosses,
        medianStepSeconds: sorted.isEmpty ? 0 : sorted[sorted.count / 2],
        meanStepSeconds: sorted.isEmpty ? 0 : trainingSeconds / Double(sorted.count),
        firstQuartileStepSeconds: sorted.isEmpty ? 0 : sorted[sorted.count / 4],
        thirdQuartileStepSeconds: sorted.isEmpty ? 0 : sorted[(3 * sorted.count) / 4],
        ranks: shard.size)
}

/// Restores `trainer` from a training checkpoint written with `seed`. If the tensors do not
/// fit and the checkpoint records another model configuration, the error says so.
func resume(_ trainer: Trainer<Float>, from path: String, seed: UInt64, model: ModelConfiguration) throws {
    let metadata: [String: String]
    do {
        metadata = try trainer.restoreCheckpoint(from: path)
    } catch {
        guard let json = try? Checkpoint.read(from: path).metadata["configuration"],
              let saved = try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8)),
              saved.model != model else { throw error }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func text(_ m: ModelConfiguration) -> String { (try? encoder.encode(m)).map { String(decoding: $0, as: UTF8.self) } ?? m.name }
        throw FileError(path, "was written by another model, \(text(saved.model)); this run trains \(text(model)) (\(error))")
    }
    if let saved = metadata["seed"], saved != String(seed) {
        throw FileError(path, "was written with seed \(saved); this run uses seed \(seed) (the data order would differ)")
    }
}

/// Unsmoothed loss and accuracy over the held-out split; data-parallel, each rank evaluates its
/// share and the sums are added over ranks.
func evaluate(_ source: any BatchSource, _ trainer: Trainer<Float>,
              communicator: (any DataParallelCommunicator<Float>)?) throws -> (loss: Double, accuracy: Double) {
    let (lossSum, correct, count) = try source.evaluate(trainer)
    var sums = [lossSum, Double(correct), Double(count)]
    if let communicator { try sums.withUnsafeMutableBufferPointer { try communicator.sum($0) } }
    return (sums[0] / sums[2], sums[1] / sums[2])
}
