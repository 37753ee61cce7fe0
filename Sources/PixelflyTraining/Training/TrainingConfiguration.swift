import PixelflyCore
import PixelflyData

/// Everything that defines a training run. Codable: stored in checkpoints and JSON results.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var model: ModelConfiguration
    /// Passes over the training set (image models); ignored when `steps` is set.
    public var epochs: Int = 1
    /// Total optimisation steps; required for the GPT (which samples random windows).
    public var steps: Int?
    public var batchSize: Int = 128
    public var learningRate: Double = 1e-3
    public var minimumLearningRate: Double = 1e-5
    /// Linear warmup steps; nil means 5% of the total.
    public var warmupSteps: Int?
    public var weightDecay: Double = 0.05
    public var labelSmoothing: Double = 0.1
    /// Global gradient-norm limit; nil disables clipping.
    public var clipNorm: Double? = 1
    /// Seeds the model initialisation (`seed`) and the data order (`seed + 1`).
    public var seed: UInt64 = 0
    /// Use only the first N training / test examples (nil: all).
    public var trainingLimit: Int?
    public var testLimit: Int?
    public var evaluationBatchSize: Int = 500
    /// Steps between evaluations; nil means once per epoch (images) or every 10% of the steps (GPT).
    public var evaluationInterval: Int?
    /// Validation windows per GPT evaluation (batches of `batchSize`, always the same windows).
    public var evaluationBatches: Int = 8
    /// Steps between progress lines.
    public var logInterval: Int = 50
    public var dataDirectory: String = FashionMNIST.defaultDirectory
    public var corpusPath: String = TextCorpus.defaultPath
    /// How the corpus is split: nil holds out the last 10 % of every file; n ≥ 2 holds out every
    /// n-th file whole (`TextCorpus.load(path:heldOutEvery:)`).
    public var corpusHeldOutEvery: Int?
    /// Written at every evaluation and at the end.
    public var checkpointPath: String?
    /// Restored before training; the run continues from its step.
    public var resumePath: String?
    /// Stop (evaluate and checkpoint) once this many steps are done, although the schedule runs
    /// to the full step count: training in pieces, each resumed from the last checkpoint.
    public var stopAtStep: Int?

    public init(model: ModelConfiguration) {
        self.model = model
        if model.isLanguageModel {
            batchSize = 16
            labelSmoothing = 0
            weightDecay = 0.1
            steps = 500
        }
    }

    func validate() throws {
        func fail(_ message: String) -> ShapeError { ShapeError("TrainingConfiguration", message) }
        guard epochs > 0 else { throw fail("epochs must be positive, got \(epochs)") }
        if let steps, steps <= 0 { throw fail("steps must be positive, got \(steps)") }
        if model.isLanguageModel, steps == nil { throw fail("the GPT needs a step count (--steps)") }
        guard batchSize > 0, evaluationBatchSize > 0, evaluationBatches > 0, logInterval > 0 else {
            throw fail("batch sizes, evaluation batches and the log interval must be positive")
        }
        if let evaluationInterval, evaluationInterval <= 0 { throw fail("evaluation interval must be positive") }
        if let corpusHeldOutEvery, corpusHeldOutEvery < 2 {
            throw fail("holding out every n-th corpus file needs n ≥ 2, got \(corpusHeldOutEvery)")
        }
        if let stopAtStep, stopAtStep <= 0 { throw fail("the stop step must be positive, got \(stopAtStep)") }
        if let clipNorm, !(clipNorm > 0) { throw fail("clip norm must be positive, got \(clipNorm)") }
    }
}

/// One evaluation on the held-out split.
public struct EvaluationRecord: Codable, Sendable, Equatable {
    /// Completed optimisation steps.
    public var step: Int
    /// Completed passes over the training data (fractional for the GPT).
    public var epoch: Double
    /// Mean training loss over the steps since the previous evaluation.
    public var trainingLoss: Double
    /// Unsmoothed cross-entropy on the held-out split.
    public var testLoss: Double
    /// Top-1 accuracy on the held-out split (next-byte accuracy for the GPT).
    public var testAccuracy: Double
    /// Wall-clock seconds spent in training steps so far (evaluation excluded).
    public var trainingSeconds: Double
    /// Wall-clock seconds since the run started (data loading excluded, evaluation included).
    public var elapsedSeconds: Double
}

/// What `runTraining` returns (and `pixelfly-bench train --json` writes).
public struct TrainingResult: Codable, Sendable {
    public var configuration: TrainingConfiguration
    public var parameterCount: Int
    public var totalSteps: Int
    /// The step the run started from (0, or the resumed checkpoint's step).
    public var startStep: Int
    public var evaluations: [EvaluationRecord]
    /// Training loss of every step taken in this run (step startStep + 1 …).
    public var stepLosses: [Double]
    /// Median and mean wall-clock seconds per training step.
    public var medianStepSeconds: Double
    public var meanStepSeconds: Double
    /// First and third quartiles of the step times: the spread reports quote with the median.
    public var firstQuartileStepSeconds: Double
    public var thirdQuartileStepSeconds: Double
    /// Data-parallel ranks that trained together (1: one process). Each step's batch was split
    /// over them; losses and accuracies are over the whole batch and test split.
    public var ranks: Int = 1
    public var finalTestAccuracy: Double { evaluations.last?.testAccuracy ?? .nan }
    public var finalTestLoss: Double { evaluations.last?.testLoss ?? .nan }
}
