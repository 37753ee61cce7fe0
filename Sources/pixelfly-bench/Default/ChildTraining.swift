import Foundation
import PixelflyModels
import PixelflyTraining
import PixelflyCore

/// One training of the default job in a fresh child process: this executable's `train`
/// subcommand with flags that spell out `configuration`, its result read back from `--json`
/// (run by `InterleavedChildTrainings`, the dense and the Pixelfly training in turn).
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

    /// The `train` arguments that spell out `configuration` (without `--threads`, `--json` and
    /// `--step-gate`, which the runner adds).
    static func arguments(_ configuration: TrainingConfiguration, mixer: MLPMixerConfiguration, linearFlags: [String]) -> [String] {
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
        return arguments
    }

    /// The child's results, after checking that it trained `configuration` (its corpus path
    /// aside, which the child resolves).
    static func checked(_ results: TrainingResult, against configuration: TrainingConfiguration) throws -> TrainingResult {
        var expected = configuration
        expected.corpusPath = results.configuration.corpusPath
        guard results.configuration == expected else {
            throw ChildError(description: "the training child ran \(results.configuration), not the job's \(configuration)")
        }
        return results
    }

    /// A fresh path for a child's JSON result.
    static func resultPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("pixelfly-child-\(getpid())-\(label)-\(UInt64(monotonicSeconds() * 1e6)).json").path
    }
}
