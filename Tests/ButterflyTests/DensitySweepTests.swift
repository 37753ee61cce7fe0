import Foundation
import Testing
import PixelflyCore
@testable import pixelfly_bench

/// `reproduce`'s density sweep on a tiny Mixer (width 64, 4 steps, a debug build of the bench):
/// the Mixer family's three arms train as references in the same interleaved group as the
/// points, every speed-up divides by the faster of the two dense runs, and a family arm the
/// sweep cannot place is refused by name.
@Suite("reproduce: the density sweep", .serialized)
struct DensitySweepTests {
    static let family = ReproduceFamily(
        key: "mixer", title: "tiny Mixer",
        shape: ModelShape(model: "mixer", width: 64, depth: 1, hidden: 128, heads: 0, patchSize: 7, tokenHidden: 8, batchSize: 16),
        schedule: ["--epochs", "1", "--train-limit", "64", "--test-limit", "32", "--log-interval", "1"],
        arms: [ReproduceArm(name: "dense", arguments: ["--linear", "dense"]),
               .denseBlocks(blockSize: 4, extra: ["--token-linear", "dense"]),
               ReproduceArm(name: ReproduceArm.pixelflyName, arguments: ReproducePlan.mixerPixelfly(factors: 2, blockSize: 4, rank: 4))],
        metric: .testAccuracyPercent)

    static let points = [
        SweepArm(ReproduceArm(name: "K1 r4 b4", arguments: ReproducePlan.mixerPixelfly(factors: 1, blockSize: 4, rank: 4)), .pixelfly),
        SweepArm(ReproduceArm(name: "K1 r0 b4", arguments: ReproducePlan.mixerBlockSparse(factors: 1, blockSize: 4)), .blockSparse),
    ]

    @Test func referencesAndPointsTrainAsOneGroup() throws {
        let directory = try TemporaryDirectory("density-sweep")
        var runner = try ReproduceRunner(folder: try ResultsFolder(directory.file("results")), threads: 1, totalRuns: 5,
                                         plannedSeconds: 1, executable: BenchProcess.benchPath, extraArguments: ["--allow-debug"])
        let sweep = try DensitySweep.run(Self.points, family: Self.family, seed: 3, estimate: ReproduceEstimate(), runner: &runner)
        #expect(sweep.points.map(\.name) == ["dense", "dense-blocks", "K2 r4 b4 (Pixelfly arm)", "K1 r4 b4", "K1 r0 b4"])
        #expect(sweep.points.map(\.group) == [.dense, .dense, .pixelfly, .pixelfly, .blockSparse])
        for point in sweep.points {
            #expect(point.run.steps == 4 && point.run.seed == 3, "\(point.name): \(point.run.steps) steps, seed \(point.run.seed)")
        }
        // One group: every child's wall time is the group's.
        #expect(Set(sweep.points.map(\.run.wallSeconds)).count == 1)
        // The baseline is the faster dense run: its speed-up is 1, the other dense run's at most 1.
        let denseSpeedups = sweep.points.prefix(2).map(\.speedup)
        #expect(denseSpeedups.max() == 1 && denseSpeedups.min()! <= 1, "\(denseSpeedups)")
        let baseline = sweep.points.prefix(2).map(\.run.medianStepSeconds).min()!
        for point in sweep.points {
            #expect(abs(point.speedup - baseline / point.run.medianStepSeconds) < 1e-12)
        }
        #expect(sweep.points[0].linearFLOPFraction == 1 && sweep.points[4].linearFLOPFraction < sweep.points[3].linearFLOPFraction)
    }

    @Test func aFamilyArmWithoutAPlaceIsRefusedByName() {
        var family = Self.family
        family.arms.append(ReproduceArm(name: "low-rank", arguments: ["--linear", "lowrank"]))
        #expect {
            try DensitySweep.referenceGroup(family.arms[3], family: family)
        } throws: { error in
            error is ConfigurationError && "\(error)".contains("low-rank") && "\(error)".contains("dense-blocks")
        }
    }
}
