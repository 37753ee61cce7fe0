import Foundation
import Models
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

    private struct Document: Decodable {
        var results: TrainingResult
    }

    static func run(_ configuration: TrainingConfiguration, mixer: MLPMixerConfiguration, linearFlags: [String],
                    threads: Int) throws -> TrainingResult {
        let json = FileManager.default.temporaryDirectory
            .appendingPathComponent("pixelfly-child-\(getpid())-\(UInt64(monotonicSeconds() * 1e6)).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        var arguments = [
            "train", "--model", "mixer", "--preset", "small",
            "--width", "\(mixer.width)", "--hidden", "\(mixer.channelHidden)", "--token-hidden", "\(mixer.tokenHidden)",
            "--depth", "\(mixer.depth)", "--patch-size", "\(mixer.patchSize)", "--token-linear", "dense",
            "--epochs", "\(configuration.epochs)", "--batch-size", "\(configuration.batchSize)",
            "--lr", "\(configuration.learningRate)", "--weight-decay", "\(configuration.weightDecay)",
            "--label-smoothing", "\(configuration.labelSmoothing)", "--seed", "\(configuration.seed)",
            "--log-interval", "\(configuration.logInterval)", "--threads", "\(threads)",
            "--data-directory", configuration.dataDirectory, "--json", json,
        ] + linearFlags
        if let limit = configuration.trainingLimit { arguments += ["--train-limit", "\(limit)"] }
        if let limit = configuration.testLimit { arguments += ["--test-limit", "\(limit)"] }
        if let interval = configuration.evaluationInterval { arguments += ["--eval-interval", "\(interval)"] }
        if let warmup = configuration.warmupSteps { arguments += ["--warmup", "\(warmup)"] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executablePath())
        process.arguments = arguments
        print("   child: pixelfly-bench " + arguments.joined(separator: " "))
        fflush(nil)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ChildError(description: "the training child exited with status \(process.terminationStatus); arguments: \(arguments)")
        }
        let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        var expected = configuration
        expected.corpusPath = document.results.configuration.corpusPath
        guard document.results.configuration == expected else {
            throw ChildError(description: "the training child ran \(document.results.configuration), not the job's \(configuration)")
        }
        return document.results
    }

    private static func executablePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw ChildError(description: "cannot read /proc/self/exe to start the training child") }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
