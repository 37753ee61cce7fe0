import Foundation
import Butterfly
import PixelflyModels
import PixelflyTraining
import PixelflyCore

/// `--full` only: the byte-level GPT on the text corpus with dense and with Pixelfly linears in
/// every block (q, k, v, attention output, fc1, fc2), same seed and data order — step time,
/// speed-up and held-out next-byte loss and accuracy. Dense trains twice, with `DenseLinear`
/// and with `.denseBlocks` (the same matrices on the block-sparse kernels, at Pixelfly's b);
/// the speed-up is against the faster, as in the rest of the job.
///
/// As the Mixer's trainings do (`DefaultTrainingSection`), the three trainings run as fresh
/// `train` child processes that take turns, `DefaultTrainingSection.interleaveSteps` steps at a
/// time, so that a drift of the machine's speed over the section's half hour reaches the three
/// step-time distributions alike. (Until the forty-fourth kernel pass they trained one after
/// the other inside the job's process.)
struct DefaultLanguageSection: Encodable {
    struct Run: Encodable {
        var linear: String
        var result: TrainingResult
    }

    /// The model and schedule: width, MLP hidden width, heads, depth and steps, and Pixelfly's
    /// block size b and rank (B 16, K 2). `full` is the job's; tests train a small one.
    struct Shape {
        var width: Int
        var hidden: Int
        var heads: Int
        var depth: Int
        var steps: Int
        var blockSize: Int
        var rank: Int
        var logInterval: Int

        /// Width 512 (MLP 2048), 4 blocks of 8 heads, context 64, batch 16 (1024 rows a step),
        /// 2000 steps; Pixelfly B 16, K 2, b 32, rank 32 (512 = 16 tiles of 32).
        static let full = Shape(width: 512, hidden: 2048, heads: 8, depth: 4, steps: 2000, blockSize: 32, rank: 32, logInterval: 250)

        /// The three arms: a label and the linear kind of every block.
        var arms: [(label: String, kind: LinearKind)] {
            [("dense", .dense), ("dense-blocks", .denseBlocks(blockSize: blockSize)),
             ("Pixelfly", .pixelfly(PixelflySettings(
                mask: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: blockSize), rank: rank, combination: .sum)))]
        }

        /// What the child must train with `kind` in every block at `seed`.
        func configuration(_ kind: LinearKind, seed: UInt64) -> TrainingConfiguration {
            var model = GPTConfiguration.small
            model.width = width
            model.mlpHidden = hidden
            model.heads = heads
            model.depth = depth
            model.linear = kind
            var configuration = TrainingConfiguration(model: .gpt(model))
            configuration.steps = steps
            configuration.seed = seed
            configuration.logInterval = logInterval
            return configuration
        }

        /// The `train` arguments that spell out `configuration(kind, seed:)`.
        func arguments(_ kind: LinearKind, seed: UInt64) -> [String] {
            guard let linear = kind.trainArguments else {
                preconditionFailure("the GPT section trains dense, dense-blocks and Pixelfly only, not \(kind)")
            }
            return ["--model", "gpt", "--preset", "small", "--width", "\(width)", "--hidden", "\(hidden)", "--heads", "\(heads)",
                    "--depth", "\(depth)", "--steps", "\(steps)", "--seed", "\(seed)", "--log-interval", "\(logInterval)"] + linear
        }
    }

    /// The dense training with the faster median step, and the other one.
    var dense: Run
    var otherDense: Run
    var pixelfly: Run
    var stepSpeedup: Double
    /// Dense Q1 ÷ Pixelfly Q3 … dense Q3 ÷ Pixelfly Q1, as in the Mixer's section.
    var stepSpeedupSpread: RatioSpread
    var table: Table

    enum CodingKeys: String, CodingKey { case dense, otherDense, pixelfly, stepSpeedup, stepSpeedupSpread }

    /// Trains the three arms of `shape` interleaved in child processes (`extraArguments` go to
    /// every child, e.g. `--allow-debug` in tests; `executable` is this program unless a test
    /// runs the bench from elsewhere).
    static func run(seed: UInt64, shape: Shape = .full, extraArguments: [String] = [],
                    executable: String = ChildTrainingRun.executablePath,
                    output: @escaping @Sendable (String) -> Void = { print($0); fflush(nil) }) throws -> DefaultLanguageSection {
        var children: [InterleavedChildTrainings.Child] = []
        for (label, kind) in shape.arms {
            let arguments = extraArguments + shape.arguments(kind, seed: seed)
            output("-- \(label): \(kind), in a fresh child process; output lines start with \"\(label) |\"")
            output("   child: pixelfly-bench train " + arguments.joined(separator: " ") + " --threads \(ComputeThreads.count)")
            children.append(.init(arguments: arguments, jsonPath: ChildTraining.resultPath("gpt-\(label)"), prefix: "   \(label) | "))
        }
        output("   the three trainings run in turn, \(DefaultTrainingSection.interleaveSteps) steps at a time (train --step-gate); "
               + "the faster dense median step is the baseline")
        defer { for child in children { try? FileManager.default.removeItem(atPath: child.jsonPath) } }
        let documents = try InterleavedChildTrainings.run(children, threads: ComputeThreads.count,
                                                           gateEvery: DefaultTrainingSection.interleaveSteps,
                                                           executable: executable, output: output)
        var runs: [Run] = []
        for ((_, kind), document) in zip(shape.arms, documents) {
            runs.append(Run(linear: kind.description,
                            result: try ChildTraining.checked(document.results, against: shape.configuration(kind, seed: seed))))
        }
        let (dense, otherDense, sparse) = runs[1].result.medianStepSeconds < runs[0].result.medianStepSeconds
            ? (runs[1], runs[0], runs[2]) : (runs[0], runs[1], runs[2])
        let spread = RatioSpread(min: dense.result.firstQuartileStepSeconds / sparse.result.thirdQuartileStepSeconds,
                                 max: dense.result.thirdQuartileStepSeconds / sparse.result.firstQuartileStepSeconds)
        var table = Table(["linear", "parameters", "ms/step (median, Q1–Q3)", "step speed-up", "test loss (nats/byte)", "next-byte acc %"])
        for run in [dense, otherDense, sparse] {
            let r = run.result
            let speedup = format(dense.result.medianStepSeconds / r.medianStepSeconds, 2) + "×"
            table.append([run.linear + (run.linear == dense.linear ? " (baseline)" : ""), "\(r.parameterCount)",
                          format(r.medianStepSeconds * 1e3, 1) + " (" + format(r.firstQuartileStepSeconds * 1e3, 1) + "–"
                              + format(r.thirdQuartileStepSeconds * 1e3, 1) + ")",
                          run.linear == sparse.linear ? speedup + " (" + format(spread.min, 2) + "–" + format(spread.max, 2) + ")" : speedup,
                          format(r.finalTestLoss, 4), format(r.finalTestAccuracy * 100, 2)])
        }
        return DefaultLanguageSection(dense: dense, otherDense: otherDense, pixelfly: sparse,
                                      stepSpeedup: dense.result.medianStepSeconds / sparse.result.medianStepSeconds,
                                      stepSpeedupSpread: spread, table: table)
    }
}
