import Testing
@testable import pixelfly_bench

/// `reproduce`'s speed-ups divide by each seed's faster dense run (`DenseLinear` or
/// dense-blocks, `ReproduceArm.denseBlocks`); its quality differences stay against arm 0.
@Suite("reproduce: the faster dense run is the speed baseline")
struct ReproduceSpeedBaselineTests {
    static func run(_ arm: String, seed: UInt64, step: Double, quality: Double) -> ArmRun {
        ArmRun(family: "vit", arm: arm, seed: seed, linear: arm, parameters: 1, steps: 10, medianStepSeconds: step,
               firstQuartileStepSeconds: step, thirdQuartileStepSeconds: step, quality: quality, finalTestLoss: 0,
               finalTestAccuracy: quality / 100, trainingSeconds: 1, wallSeconds: 1, loadAverage: "0", evaluations: [],
               resultFile: "")
    }

    @Test func speedupPerSeedDividesTheFasterDenseRun() throws {
        let family = ReproducePlan.vit(quick: true)
        #expect(family.arms.map(\.name) == ["dense", ReproduceArm.denseBlocksName, ReproduceArm.pixelflyName])
        let runs = [
            Self.run("dense", seed: 0, step: 0.100, quality: 80), Self.run("dense-blocks", seed: 0, step: 0.090, quality: 81),
            Self.run("Pixelfly", seed: 0, step: 0.030, quality: 79),
            Self.run("dense", seed: 1, step: 0.080, quality: 82), Self.run("dense-blocks", seed: 1, step: 0.120, quality: 80),
            Self.run("Pixelfly", seed: 1, step: 0.040, quality: 80),
        ]
        let comparison = try FamilyComparison(family: family, runs: runs)
        let pixelfly = try #require(comparison.arms.first { $0.arm == ReproduceArm.pixelflyName })
        #expect(pixelfly.speedupPerSeed.map { ($0 * 1000).rounded() / 1000 } == [3.0, 2.0])   // 0.090 ÷ 0.030, 0.080 ÷ 0.040
        #expect(abs(pixelfly.fastestRunSpeedup - 0.080 / 0.030) < 1e-12)
        // Quality: dense − Pixelfly against the DenseLinear arm (80 − 79, 82 − 80).
        #expect(pixelfly.differenceFromDense?.summary.mean == 1.5)
        let denseBlocks = try #require(comparison.arms.first { $0.arm == ReproduceArm.denseBlocksName })
        #expect(denseBlocks.speedupPerSeed.map { ($0 * 1000).rounded() / 1000 } == [1.0, 0.667])
        // The second dense arm is a baseline: the report holds Pixelfly to the target, not it.
        let denseBlocksText = ReproduceReport.speedText(denseBlocks, target: 2.5)
        #expect(denseBlocksText.hasPrefix("A second dense baseline"))
        #expect(!denseBlocksText.contains("target"))
        #expect(ReproduceReport.speedText(pixelfly, target: 2.5).contains("the ≥ 2.5× target is met on both ratios"))
    }
}
