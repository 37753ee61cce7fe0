import Foundation
import PixelflyCore

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
public func runTraining(_ configuration: TrainingConfiguration,
                        log: (String) -> Void = { print($0) }) throws -> TrainingResult {
    try configuration.validate()
    var source: any BatchSource
    switch configuration.model {
    case .gpt(let gpt): source = try TextBatches(configuration, context: gpt.context)
    default: source = try ImageBatches(configuration)
    }
    let totalSteps = configuration.steps ?? configuration.epochs * source.stepsPerEpoch
    let schedule = try WarmupCosineSchedule(
        peak: configuration.learningRate, warmupSteps: min(configuration.warmupSteps ?? totalSteps / 20, totalSteps),
        totalSteps: totalSteps, minimum: min(configuration.minimumLearningRate, configuration.learningRate))
    let trainer = try Trainer(
        model: configuration.model.makeModel(seed: configuration.seed, as: Float.self), schedule: schedule,
        loss: SoftmaxCrossEntropy(labelSmoothing: configuration.labelSmoothing),
        hyperparameters: .init(weightDecay: configuration.weightDecay), clipNorm: configuration.clipNorm)
    let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)

    if let resumePath = configuration.resumePath {
        let metadata = try trainer.restoreCheckpoint(from: resumePath)
        if let saved = metadata["seed"], saved != String(configuration.seed) {
            throw FileError(resumePath, "was written with seed \(saved); this run uses seed \(configuration.seed) (the data order would differ)")
        }
        source.skip(steps: trainer.step)
        log("resumed \(resumePath) at step \(trainer.step)")
    }
    let startStep = trainer.step
    let evaluationInterval = configuration.evaluationInterval
        ?? (configuration.model.isLanguageModel ? max(1, totalSteps / 10) : source.stepsPerEpoch)
    let parameterCount = trainer.parameters.reduce(0) { $0 + $1.count }
    log("\(configuration.model.name): \(parameterCount) parameters, \(totalSteps) steps of batch \(configuration.batchSize) "
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
            log(String(format: "step %d/%d  loss %.4f  lr %.2e  %.1f ms/step", step, totalSteps, loss,
                       schedule.learningRate(at: step - 1), seconds * 1e3))
        }
        if step % evaluationInterval == 0 || step == lastStep {
            let (testLoss, accuracy) = try source.evaluate(trainer)
            let record = EvaluationRecord(
                step: step, epoch: Double(step) / Double(source.stepsPerEpoch),
                trainingLoss: lossSinceEvaluation / Double(max(stepsSinceEvaluation, 1)), testLoss: testLoss,
                testAccuracy: accuracy, trainingSeconds: trainingSeconds, elapsedSeconds: monotonicSeconds() - runStart)
            evaluations.append(record)
            (lossSinceEvaluation, stepsSinceEvaluation) = (0, 0)
            log(String(format: "eval step %d (epoch %.2f): train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.1f s training",
                       step, record.epoch, record.trainingLoss, testLoss, accuracy * 100, trainingSeconds))
            if let path = configuration.checkpointPath {
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
        thirdQuartileStepSeconds: sorted.isEmpty ? 0 : sorted[(3 * sorted.count) / 4])
}
