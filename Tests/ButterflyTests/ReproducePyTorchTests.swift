import Foundation
import Testing
import PixelflyCore
@testable import pixelfly_bench

/// `reproduce`'s PyTorch column when PyTorch takes turns with the family groups: one companion
/// run per seed's group, recorded per family, the column the mean of the groups' medians, and a
/// failed run kept with its reason instead of failing the job. A shell companion that keeps the
/// gate protocol stands in for PyTorch (the real script is tested in `InterleavedTrainingTests`).
@Suite("reproduce: PyTorch taking turns with the groups", .serialized)
struct ReproducePyTorchTests {
    /// Counts its turns, and when its input ends prints a step result whose median is 0.5 s.
    static let companion = InterleavedChildTrainings.Companion(
        executable: "/bin/sh",
        arguments: ["-c", "n=0; while echo \"\(StepGate.marker) $n\" && read line; do n=$((n+1)); done; "
            + #"echo "{\"model\": \"mixer\", \"parameters\": 1, \"medianStepSeconds\": 0.5, \"firstQuartileStepSeconds\": 0.4, "#
            + #"\"thirdQuartileStepSeconds\": 0.6, \"steps\": $n, \"batch\": 16, \"threads\": 1, \"torchVersion\": \"test\", "#
            + #"\"mkldnn\": false}""#],
        prefix: "")

    @Test func eachSeedGroupHasItsCompanionRun() throws {
        let directory = try TemporaryDirectory("reproduce-pytorch-companion")
        defer { directory.remove() }
        var runner = try ReproduceRunner(folder: try ResultsFolder(directory.file("results")), threads: 1, totalRuns: 6,
                                         plannedSeconds: 1, executable: BenchProcess.benchPath, extraArguments: ["--allow-debug"])
        let family = DensitySweepTests.family
        let (comparison, outputs) = try FamilyComparison.run(family, seeds: [1, 2], estimate: ReproduceEstimate(), runner: &runner,
                                                             companion: Self.companion)
        #expect(comparison.runs.count == 6)
        #expect(outputs.count == 2)
        var baseline = PyTorchBaseline(interleaved: true)
        baseline.record(outputs, family: family)
        // 4 steps in turns of 20: one round per group, so one turn each.
        #expect(baseline.steps["mixer"]?.map(\.steps) == [1, 1])
        #expect(baseline.failures.isEmpty)
        let rows = baseline.table([comparison]).rows
        #expect(rows.count == 1 && rows[0][1] == "500.0", "\(rows)")
        #expect(baseline.method.contains("took 5 steps per round"))
    }

    @Test func aFailedCompanionRunIsKeptWithItsReason() {
        var baseline = PyTorchBaseline(interleaved: true)
        baseline.record([.failure(.init(arguments: ["-c", "exit 3"], reason: "exited with status 3: no torch", program: "/bin/sh"))],
                        family: DensitySweepTests.family)
        #expect(baseline.steps["mixer"] == nil)
        #expect(baseline.failures.count == 1 && baseline.failures[0].hasPrefix("mixer: ") && baseline.failures[0].contains("no torch"))
    }
}
