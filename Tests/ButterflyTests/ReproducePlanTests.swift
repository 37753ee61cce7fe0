import Foundation
import Testing

/// `pixelfly-bench reproduce --plan-only`: the job's plan (runs per section and the idle-machine
/// estimate) without training, from the debug build `swift test` makes.
@Suite("reproduce plan")
struct ReproducePlanTests {
    /// The estimated total in minutes from the plan line "…; total ≈ 16.3 min".
    static func totalMinutes(_ output: String) throws -> Double {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("plan (idle machine") })
        let tail = try #require(line.components(separatedBy: "total ≈ ").last)
        return try #require(Double(tail.replacingOccurrences(of: " min", with: "")))
    }

    @Test func fullPlanCountsEverySweepPointAndFitsTheHour() throws {
        let folder = try TemporaryDirectory("reproduce-plan")
        let results = folder.file("never-written")
        let outcome = try BenchProcess.run(["reproduce", "--plan-only", "--results", results], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        // 3 seeds × (GPT 3 + ViT 2 + Mixer 2 arms) + 13 sweep points (6 Pixelfly, 5 rank 0, 2 budget).
        #expect(outcome.output.contains("full run: 34 training runs"), "\(outcome.output)")
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
        #expect(quick.output.contains("quick run: 34 training runs"), "\(quick.output)")
        #expect(try Self.totalMinutes(quick.output) < Self.totalMinutes(full.output))
    }

    @Test func sweepWithoutMixerIsRefusedByName() throws {
        let outcome = try BenchProcess.run(["reproduce", "--plan-only", "--only", "sweep"], ranks: nil)
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("add mixer to --only"), "\(outcome.errors)")
    }
}
