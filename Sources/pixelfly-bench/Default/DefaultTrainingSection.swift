import Foundation
import PixelflyModels
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Section 4 of the default job: the same Mixer (same seed, same data order) trained with
/// dense and with Pixelfly channel-mixing linears, each in its own fresh child process
/// (`ChildTraining`), so that its step times are what a user's own training run would see.
/// The dense model trains twice: with `DenseLinear` (OpenBLAS) and with `.denseBlocks` (every
/// block kept, on the block-sparse kernels, at Pixelfly's b); the faster median step is the
/// baseline (`dense`), as in the layer table (`LayerSettings.denseKinds`). The children train
/// in turn, `interleaveSteps` steps at a time (`InterleavedChildTrainings`), so that a drift of
/// the machine's speed during the section reaches every step-time distribution alike instead of
/// whichever run it falls in. PyTorch's dense Mixer, where installed, takes a turn in every round
/// too (`DefaultPyTorchComparison`).
struct DefaultTrainingSection: Encodable {
    /// Steps each child runs before the other takes over.
    static let interleaveSteps = 20

    struct Run: Encodable {
        var linear: String
        var result: TrainingResult
        /// Linear-layer FLOPs of one training step (forward + backward = 3 × forward).
        var linearFLOPsPerStep: Double
    }

    /// The baseline: the dense training with the faster median step.
    var dense: Run
    /// The other dense training (the slower of `DenseLinear` and `.denseBlocks`).
    var otherDense: Run
    var pixelfly: Run
    /// Dense median step time ÷ Pixelfly median step time.
    var stepSpeedup: Double
    /// The speed-up's spread from the step-time quartiles: dense Q1 ÷ Pixelfly Q3 … dense Q3 ÷
    /// Pixelfly Q1 (the runs are interleaved in blocks of steps, not paired step by step).
    var stepSpeedupSpread: RatioSpread
    /// Pixelfly final accuracy − dense final accuracy, in points.
    var accuracyDifferencePoints: Double
    /// Training seconds Pixelfly needed to first reach the dense model's final accuracy (nil if never).
    var pixelflySecondsToDenseAccuracy: Double?
    var denseSeconds: Double
    var table: Table

    enum CodingKeys: String, CodingKey {
        case dense, otherDense, pixelfly, stepSpeedup, stepSpeedupSpread, accuracyDifferencePoints, pixelflySecondsToDenseAccuracy, denseSeconds
    }

    /// Trains the three Mixers interleaved, with `companion` (PyTorch's dense step) taking a
    /// turn in every round when given; returns the section and the companion's output.
    static func run(options: DefaultTrainingOptions, full: Bool, companion: InterleavedChildTrainings.Companion?)
        throws -> (section: DefaultTrainingSection, companion: InterleavedChildTrainings.CompanionOutput?) {
        let epochs = options.epochs ?? (full ? 6 : 2)
        let kinds: [(kind: LinearKind, label: String)] = [
            (.dense, "dense"), (options.denseBlocks, "dense-blocks"), (options.pixelfly, "Pixelfly"),
        ]
        var configurations: [TrainingConfiguration] = []
        var children: [InterleavedChildTrainings.Child] = []
        for (kind, label) in kinds {
            var configuration = TrainingConfiguration(model: .mixer(options.mixer(kind)))
            configuration.epochs = epochs
            configuration.batchSize = options.batchSize
            configuration.seed = options.seed
            let trainingLimit = options.trainLimit ?? (full ? 60_000 : 12_800)
            configuration.trainingLimit = trainingLimit
            let stepsPerEpoch = trainingLimit / options.batchSize
            configuration.evaluationInterval = max(1, stepsPerEpoch)
            configuration.logInterval = max(1, stepsPerEpoch / 4)
            let arguments = ChildTraining.arguments(configuration, mixer: options.mixer(kind), linearFlags: options.trainFlags(kind))
            print("-- \(label): \(kind), in a fresh child process; output lines start with \"\(label) |\"")
            print("   child: pixelfly-bench train " + arguments.joined(separator: " ") + " --threads \(ComputeThreads.count)")
            configurations.append(configuration)
            children.append(.init(arguments: arguments, jsonPath: ChildTraining.resultPath(label), prefix: "   \(label) | "))
        }
        print("   the three trainings run in turn, \(interleaveSteps) steps at a time (train --step-gate); "
              + "the faster dense median step is the baseline")
        fflush(nil)
        defer { for child in children { try? FileManager.default.removeItem(atPath: child.jsonPath) } }
        let (documents, companionOutputs) = try InterleavedChildTrainings.run(
            children, companions: companion.map { [$0] } ?? [], threads: ComputeThreads.count, gateEvery: interleaveSteps)
        var runs: [Run] = []
        for ((kind, _), (configuration, document)) in zip(kinds, zip(configurations, documents)) {
            runs.append(Run(linear: kind.description, result: try ChildTraining.checked(document.results, against: configuration),
                            linearFLOPsPerStep: try linearFLOPsPerStep(options.mixer(kind), batch: options.batchSize)))
        }
        let denseBlocksFaster = runs[1].result.medianStepSeconds < runs[0].result.medianStepSeconds
        let (dense, otherDense, pixelfly) = denseBlocksFaster ? (runs[1], runs[0], runs[2]) : (runs[0], runs[1], runs[2])
        let target = dense.result.finalTestAccuracy
        let reach = pixelfly.result.evaluations.first { $0.testAccuracy >= target }?.trainingSeconds
        let denseSeconds = dense.result.evaluations.last?.trainingSeconds ?? 0

        let spread = RatioSpread(min: dense.result.firstQuartileStepSeconds / pixelfly.result.thirdQuartileStepSeconds,
                                 max: dense.result.thirdQuartileStepSeconds / pixelfly.result.firstQuartileStepSeconds)
        var table = Table(["linear", "parameters", "linear GFLOP/step", "ms/step (median, Q1–Q3)", "step speed-up",
                           "test acc %", "training s", "s to dense acc"])
        for run in [dense, otherDense, pixelfly] {
            let isDense = run.linear != pixelfly.linear
            let r = run.result
            let speedup = format(dense.result.medianStepSeconds / r.medianStepSeconds, 2) + "×"
            table.append([run.linear + (run.linear == dense.linear ? " (baseline)" : ""), "\(r.parameterCount)",
                          format(run.linearFLOPsPerStep / 1e9, 2),
                          format(r.medianStepSeconds * 1e3, 1) + " (" + format(r.firstQuartileStepSeconds * 1e3, 1) + "–"
                              + format(r.thirdQuartileStepSeconds * 1e3, 1) + ")",
                          isDense ? speedup : speedup + " (" + format(spread.min, 2) + "–" + format(spread.max, 2) + ")",
                          format(run.result.finalTestAccuracy * 100, 2),
                          format(run.result.evaluations.last?.trainingSeconds ?? 0, 1),
                          run.linear == dense.linear ? format(denseSeconds, 1)
                              : isDense ? "" : (reach.map { format($0, 1) } ?? "not reached")])
        }
        let section = DefaultTrainingSection(
            dense: dense, otherDense: otherDense, pixelfly: pixelfly,
            stepSpeedup: dense.result.medianStepSeconds / pixelfly.result.medianStepSeconds, stepSpeedupSpread: spread,
            accuracyDifferencePoints: (pixelfly.result.finalTestAccuracy - target) * 100,
            pixelflySecondsToDenseAccuracy: reach, denseSeconds: denseSeconds, table: table)
        return (section, companionOutputs.first)
    }

    var headline: String {
        "Pixelfly Mixer step \(format(stepSpeedup, 2))× faster than dense (\(dense.linear), the faster of two; step-time quartiles give "
            + "\(format(stepSpeedupSpread.min, 2))–\(format(stepSpeedupSpread.max, 2))×); test accuracy "
            + "\(format(pixelfly.result.finalTestAccuracy * 100, 2))% vs \(format(dense.result.finalTestAccuracy * 100, 2))% "
            + "(\(accuracyDifferencePoints >= 0 ? "+" : "")\(format(accuracyDifferencePoints, 2)) points) after "
            + "\(format(dense.result.evaluations.last?.epoch ?? 0, 1)) epochs"
    }

    /// The issue-11 training target: the median step ≥ 3× dense at equal accuracy, read as a test
    /// accuracy at most 0.5 points below dense's (a Pixelfly model that does better is not a miss).
    var targetLine: String {
        let fast = stepSpeedup >= 3, close = accuracyDifferencePoints >= -0.5
        return "Speed target on this run: Mixer step ≥ 3× dense, test accuracy at most 0.5 points below dense: "
            + (fast && close ? "met" : "not met") + " (\(format(stepSpeedup, 2))×, \(format(accuracyDifferencePoints, 2)) points)"
    }

    /// Accuracy against training wall-clock time, both runs.
    var plot: SVGPlot {
        var plot = SVGPlot(title: "MLP-Mixer on Fashion-MNIST: test accuracy vs training time",
                           xLabel: "training seconds", yLabel: "test accuracy (%)")
        for (label, run) in [(dense.linear, dense), (otherDense.linear, otherDense), ("Pixelfly", pixelfly)] {
            plot.add(label, [(x: 0.0, y: 10.0)] + run.result.evaluations.map { (x: $0.trainingSeconds, y: $0.testAccuracy * 100) })
        }
        return plot
    }

    /// Forward FLOPs of every linear in one step × 3 (backward costs two forward products).
    static func linearFLOPsPerStep(_ c: MLPMixerConfiguration, batch: Int) throws -> Double {
        var rng = SeededRandom(seed: 0)
        func perRow(_ kind: LinearKind, _ input: Int, _ output: Int) throws -> Double {
            let factory: LinearFactory<Float> = kind.factory()
            return Double(try factory(input, output, "flops", &rng).forwardFLOPsPerRow)
        }
        let tokens = Double(c.tokens), rows = Double(batch)
        let channel = try perRow(c.channelMixingLinear, c.width, c.channelHidden) + perRow(c.channelMixingLinear, c.channelHidden, c.width)
        let token = try perRow(c.tokenMixingLinear, c.tokens, c.tokenHidden) + perRow(c.tokenMixingLinear, c.tokenHidden, c.tokens)
        let perBlock = channel * rows * tokens + token * rows * Double(c.width)
        let embedding = try perRow(c.embeddingLinear, c.patchSize * c.patchSize, c.width) * rows * tokens
        let head = try perRow(c.embeddingLinear, c.width, c.classes) * rows
        return 3 * (Double(c.depth) * perBlock + embedding + head)
    }
}
