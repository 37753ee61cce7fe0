import Foundation
import Testing

/// `pixelfly-bench reproduce --plan-only`: the job's plan (runs per section and the idle-machine
/// estimate) without training, from the debug build `swift test` makes.
@Suite("reproduce plan")
struct ReproducePlanTests {
    /// The estimated total in minutes from the plan line "…; total ≈ 16.3 min".
    static func totalMinutes(_ output: String) throws -> Double {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("plan (step times of an idle") })
        let tail = try #require(line.components(separatedBy: "total ≈ ").last)
        return try #require(Double(tail.replacingOccurrences(of: " min", with: "")))
    }

    @Test func fullPlanCountsEverySweepPointAndFitsTheHour() throws {
        let folder = try TemporaryDirectory("reproduce-plan")
        let results = folder.file("never-written")
        let outcome = try BenchProcess.run(["reproduce", "--plan-only", "--results", results], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        // 3 seeds × (GPT 4 + ViT 3 + Mixer 3 arms, dense twice in each) + 13 sweep points (6 Pixelfly, 5 rank 0, 2 budget)
        // + the sweep's references (the Mixer's 3 arms again at seed 0, in the sweep's interleaved group).
        #expect(outcome.output.contains("full run: 46 training runs"), "\(outcome.output)")
        for section in ["gpt ≈", "vit ≈", "mixer ≈", "sweep ≈", "pytorch ≈"] {
            #expect(outcome.output.contains(section), "plan lacks \(section): \(outcome.output)")
        }
        let minutes = try Self.totalMinutes(outcome.output)
        #expect(minutes > 5 && minutes < 45, "idle-machine estimate \(minutes) min")
        #expect(!FileManager.default.fileExists(atPath: results), "--plan-only must not create the results folder")
    }

    @Test func quickPlanIsShorterWithTheSameRuns() throws {
        let full = try BenchProcess.run(["reproduce", "--plan-only"], ranks: nil)
        let quick = try BenchProcess.run(["reproduce", "--plan-only", "--quick"], ranks: nil)
        #expect(quick.status == 0 && full.status == 0, "\(quick.errors) \(full.errors)")
        #expect(quick.output.contains("quick run: 46 training runs"), "\(quick.output)")
        #expect(try Self.totalMinutes(quick.output) < Self.totalMinutes(full.output))
    }

    /// Where `import torch` fails, the PyTorch section (`PyTorchStep.unavailability`, which the
    /// default job asks too) says why and how to enable it, and the job still succeeds. A
    /// `torch` package that raises ImportError stands in for a machine without PyTorch.
    @Test func pytorchSectionSaysWhyItWasSkipped() throws {
        let folder = try TemporaryDirectory("reproduce-pytorch")
        try FileManager.default.createDirectory(atPath: folder.file("python/torch"), withIntermediateDirectories: true)
        try "raise ImportError('no PyTorch in this test')\n".write(toFile: folder.file("python/torch/__init__.py"),
                                                                    atomically: true, encoding: .utf8)
        let outcome = try BenchProcess.run(["reproduce", "--only", "pytorch", "--quick", "--allow-debug", "--results", folder.file("results")],
                                           ranks: nil, environment: ["PYTHONPATH": folder.file("python")])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("skipped: `python3 -c \"import torch\"` failed: PyTorch is not installed; install PyTorch"),
                "\(outcome.output)")
        let summary = try String(contentsOfFile: folder.file("results/summary.json"), encoding: .utf8)
        #expect(summary.contains("PyTorch is not installed"), "\(summary)")
    }

    /// The sweep trains its own references (the Mixer family's three arms at the first seed) in
    /// its interleaved group, so it runs without the Mixer section.
    @Test func sweepAloneCountsItsReferences() throws {
        let outcome = try BenchProcess.run(["reproduce", "--plan-only", "--only", "sweep"], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("full run: 16 training runs"), "\(outcome.output)")
        #expect(outcome.output.contains("sweep ≈") && !outcome.output.contains("mixer ≈"), "\(outcome.output)")
    }
}
