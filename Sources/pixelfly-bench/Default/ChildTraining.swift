import Foundation
import PixelflyModels
import PixelflyTraining
import PixelflyCore

/// Runs one training of the default job in a fresh child process: this executable's `train`
/// subcommand with flags that spell out `configuration`, its result read back from `--json`.
///
/// Trained inside the job's own process, after the layer and block sections (and, for
/// Pixelfly, after the dense run), Pixelfly steps took 140–190 ms against 123–131 ms in a fresh
/// process on the same machine (issue 11): whatever state the earlier sections leave behind
/// (heap, page faults, warm thread pool, OpenBLAS buffers) is not what a user's training run
/// sees. A child starts from nothing, like the user's run, and inherits the environment
/// (`OPENBLAS_CORETYPE`, `LIBXSMM_TARGET`). The child's configuration is compared with the one
/// asked for, so the flags cannot silently train something else.
enum ChildTraining {
    struct ChildError: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ configuration: TrainingConfiguration, mixer: MLPMixerConfiguration, linearFlags: [String],
                    threads: Int) throws -> TrainingResult {
        let json = FileManager.default.temporaryDirectory
            .appendingPathComponent("pixelfly-child-\(getpid())-\(UInt64(monotonicSeconds() * 1e6)).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        var arguments = [
            "--model", "mixer", "--preset", "small",
            "--width", "\(mixer.width)", "--hidden", "\(mixer.channelHidden)", "--token-hidden", "\(mixer.tokenHidden)",
            "--depth", "\(mixer.depth)", "--patch-size", "\(mixer.patchSize)", "--token-linear", "dense",
            "--epochs", "\(configuration.epochs)", "--batch-size", "\(configuration.batchSize)",
            "--lr", "\(configuration.learningRate)", "--weight-decay", "\(configuration.weightDecay)",
            "--label-smoothing", "\(configuration.labelSmoothing)", "--seed", "\(configuration.seed)",
            "--log-interval", "\(configuration.logInterval)", "--data-directory", configuration.dataDirectory,
        ] + linearFlags
        if let limit = configuration.trainingLimit { arguments += ["--train-limit", "\(limit)"] }
        if let limit = configuration.testLimit { arguments += ["--test-limit", "\(limit)"] }
        if let interval = configuration.evaluationInterval { arguments += ["--eval-interval", "\(interval)"] }
        if let warmup = configuration.warmupSteps { arguments += ["--warmup", "\(warmup)"] }

        print("   child: pixelfly-bench train " + arguments.joined(separator: " ") + " --threads \(threads)")
        fflush(nil)
        let results = try ChildTrainingRun.run(arguments, threads: threads, jsonPath: json, prefix: "   ").results
        var expected = configuration
        expected.corpusPath = results.configuration.corpusPath
        guard results.configuration == expected else {
            throw ChildError(description: "the training child ran \(results.configuration), not the job's \(configuration)")
        }
        return results
    }
}
