import PixelflyCore

/// The held-out evaluation of a trained checkpoint, without training.
public struct CheckpointEvaluation: Codable, Sendable, Equatable {
    public var checkpoint: String
    /// vit, mixer or gpt.
    public var model: String
    /// Completed optimisation steps when the checkpoint was written.
    public var step: Int
    public var parameterCount: Int
    /// Unsmoothed cross-entropy: mean over test images, or over validation next-byte predictions.
    public var loss: Double
    /// Top-1 accuracy (test images, or next bytes).
    public var accuracy: Double
    /// Test images, or validation tokens, evaluated.
    public var examples: Int

    /// Restores the model of the training checkpoint at `path` and evaluates it on the same
    /// held-out split `train` uses: the Fashion-MNIST test images (the first `testLimit`, all by
    /// default) or the GPT's fixed validation windows (drawn from the corpus with the run's seed).
    /// `dataDirectory` / `corpusPath` replace the paths stored in the checkpoint.
    public static func evaluate(checkpoint path: String, dataDirectory: String? = nil, corpusPath: String? = nil,
                                testLimit: Int? = nil) throws -> CheckpointEvaluation {
        let trained = try TrainedCheckpoint(path: path)
        var c = trained.configuration
        if let dataDirectory { c.dataDirectory = dataDirectory }
        if let corpusPath { c.corpusPath = corpusPath }
        c.testLimit = testLimit
        let source: any BatchSource
        switch c.model {
        case .gpt(let gpt): source = try TextBatches(c, context: gpt.context, shard: .single)
        default: source = try ImageBatches(c, shard: .single)
        }
        let trainer = try Trainer(model: trained.model,
                                  schedule: WarmupCosineSchedule(peak: c.learningRate, warmupSteps: 0, totalSteps: 1),
                                  loss: SoftmaxCrossEntropy(), hyperparameters: .init(), clipNorm: nil)
        let (lossSum, correct, examples) = try source.evaluate(trainer)
        return CheckpointEvaluation(checkpoint: path, model: c.model.name, step: trained.step,
                                    parameterCount: trained.model.parameterCount,
                                    loss: lossSum / Double(max(examples, 1)),
                                    accuracy: Double(correct) / Double(max(examples, 1)), examples: examples)
    }
}
