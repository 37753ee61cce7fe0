import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a user would otherwise run: `scripts/pytorch-baseline.py` times one training step of
/// each family's dense model in PyTorch on the CPU at the bench's thread count. Runs only when
/// `python3 -c "import torch"` succeeds; otherwise the report says it was skipped and how to
/// enable it.
struct PyTorchBaseline: Codable {
    /// What the script printed (one JSON object per model).
    struct Step: Codable {
        var model: String
        var parameters: Int
        var medianStepSeconds: Double
        var firstQuartileStepSeconds: Double
        var thirdQuartileStepSeconds: Double
        var steps: Int
        var batch: Int
        var threads: Int
        var torchVersion: String
    }

    /// nil when measured.
    var skipped: String?
    var steps: [String: Step]

    static let script = "scripts/pytorch-baseline.py"
    static let howToEnable = "install PyTorch for the CPU: `pip install torch --index-url https://download.pytorch.org/whl/cpu` "
        + "(or plain `pip install torch`), then rerun"

    static func run(families: [ReproduceFamily], threads: Int, timedSteps: Int, python: String = "python3") -> PyTorchBaseline {
        guard FileManager.default.fileExists(atPath: script) else {
            return PyTorchBaseline(skipped: "\(script) not found (run from the package root)", steps: [:])
        }
        guard (try? runProcess(python, ["-c", "import torch"]))?.status == 0 else {
            return PyTorchBaseline(skipped: "`\(python) -c \"import torch\"` failed: PyTorch is not installed; \(howToEnable)", steps: [:])
        }
        var steps: [String: Step] = [:]
        for family in families {
            let arguments = [script] + family.shape.pytorchArguments
                + ["--threads", "\(threads)", "--steps", "\(timedSteps)", "--warmup", "3"]
            print("-- PyTorch \(family.key): \(python) \(arguments.joined(separator: " "))")
            fflush(nil)
            do {
                let (status, output) = try runProcess(python, arguments)
                guard status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
                    return PyTorchBaseline(skipped: "the script failed for \(family.key) (exit status \(status)): \(output.suffix(400))", steps: steps)
                }
                let step = try JSONDecoder().decode(Step.self, from: Data(line.utf8))
                print("   median step \(format(step.medianStepSeconds * 1e3, 1)) ms (torch \(step.torchVersion), \(step.threads) threads)")
                fflush(nil)
                steps[family.key] = step
            } catch {
                return PyTorchBaseline(skipped: "could not run the script for \(family.key): \(error)", steps: steps)
            }
        }
        return PyTorchBaseline(skipped: nil, steps: steps)
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

    /// Library dense and Pixelfly step times against PyTorch's dense step, per family.
    func table(_ comparisons: [FamilyComparison]) -> Table {
        var table = Table(["model", "PyTorch dense ms/step", "library dense ms/step", "library Pixelfly ms/step",
                           "PyTorch dense ÷ library dense", "PyTorch dense ÷ library Pixelfly"])
        for c in comparisons {
            guard let torch = steps[c.family.key], c.arms.count >= 2 else { continue }
            let torchMs = torch.medianStepSeconds * 1e3
            let dense = c.arms[0].stepMilliseconds.mean, pixelfly = c.arms[1].stepMilliseconds.mean
            table.append([c.family.key, format(torchMs, 1), format(dense, 1), format(pixelfly, 1),
                          format(torchMs / dense, 2) + "×", format(torchMs / pixelfly, 2) + "×"])
        }
        return table
    }
}
