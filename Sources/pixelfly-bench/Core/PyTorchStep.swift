import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a user would otherwise run: one training step of a dense model in PyTorch on the CPU
/// (forward, cross-entropy, backward, clipping, AdamW on random inputs of the model's shapes),
/// timed by `scripts/pytorch-baseline.py` at a given thread count. The script's models mirror
/// `Sources/PixelflyModels`. Used by `reproduce` (every family) and the default job (its Mixer),
/// only where `python3 -c "import torch"` succeeds.
struct PyTorchStep: Codable {
    var model: String
    var parameters: Int
    var medianStepSeconds: Double
    var firstQuartileStepSeconds: Double
    var thirdQuartileStepSeconds: Double
    var steps: Int
    var batch: Int
    var threads: Int
    var torchVersion: String

    /// Why a PyTorch step could not be timed; the text says how to enable it where that helps.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    static let script = "scripts/pytorch-baseline.py"
    static let howToEnable = "install PyTorch for the CPU: `pip install torch --index-url https://download.pytorch.org/whl/cpu` "
        + "(or plain `pip install torch`), then rerun"

    /// Why PyTorch cannot be timed from this directory with `python`, or nil when it can.
    static func unavailability(python: String = "python3") -> String? {
        guard FileManager.default.fileExists(atPath: script) else { return "\(script) not found (run from the package root)" }
        guard (try? runProcess(python, ["-c", "import torch"]))?.status == 0 else {
            return "`\(python) -c \"import torch\"` failed: PyTorch is not installed; \(howToEnable)"
        }
        return nil
    }

    /// The median of `timedSteps` steps after `warmup` untimed ones, for the script's model
    /// flags `modelArguments` (`--model mixer --width 768 …`). Prints the command and the result.
    static func measure(modelArguments: [String], threads: Int, timedSteps: Int, warmup: Int = 3,
                        python: String = "python3") throws -> PyTorchStep {
        let arguments = [script] + modelArguments + ["--threads", "\(threads)", "--steps", "\(timedSteps)", "--warmup", "\(warmup)"]
        print("   PyTorch: \(python) \(arguments.joined(separator: " "))")
        fflush(nil)
        let (status, output): (Int32, String)
        do {
            (status, output) = try runProcess(python, arguments)
        } catch {
            throw Unavailable(description: "could not run \(script): \(error)")
        }
        guard status == 0 else {
            throw Unavailable(description: "\(script) failed (exit status \(status)): \(output.suffix(400))")
        }
        let step = try parse(output.split(separator: "\n").map(String.init))
        print("   PyTorch median step \(format(step.medianStepSeconds * 1e3, 1)) ms (torch \(step.torchVersion), \(step.threads) threads)")
        fflush(nil)
        return step
    }

    /// The script as a companion of interleaved trainings (`InterleavedChildTrainings.Companion`):
    /// it runs `stepsPerTurn` steps at every turn, the first `warmup` untimed, until the
    /// trainings are done. `python` is looked up on PATH.
    static func companion(modelArguments: [String], threads: Int, stepsPerTurn: Int, warmup: Int = 3,
                          python: String = "python3", prefix: String) -> InterleavedChildTrainings.Companion {
        let arguments = [python, script] + modelArguments
            + ["--threads", "\(threads)", "--warmup", "\(warmup)", "--step-gate", "\(stepsPerTurn)"]
        return .init(executable: "/usr/bin/env", arguments: arguments, prefix: prefix)
    }

    /// The step result in the script's output: its last line that starts with "{".
    static func parse(_ lines: [String]) throws -> PyTorchStep {
        guard let line = lines.last(where: { $0.hasPrefix("{") }) else {
            throw Unavailable(description: "\(script) printed no result line: \(lines.suffix(3).joined(separator: " / ").suffix(400))")
        }
        do {
            return try JSONDecoder().decode(PyTorchStep.self, from: Data(line.utf8))
        } catch {
            throw Unavailable(description: "\(script) printed a line that is not a step result (\(error)): \(line.prefix(200))")
        }
    }

    /// Runs `executable` (looked up on PATH) to completion; its exit status and combined output.
    private static func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
