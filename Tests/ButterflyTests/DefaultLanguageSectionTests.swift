import Foundation
import Testing
import PixelflyTraining
@testable import pixelfly_bench

/// The `--full` GPT section on a small shape (width 64, 1 block, 4 steps, a debug build of the
/// bench): its three `train` children take turns and each trains exactly the configuration the
/// section asked for (`ChildTraining.checked` throws otherwise), the two dense arms start from
/// the same weights and data, and the table names a baseline.
@Suite("Default job: the GPT section", .serialized)
struct DefaultLanguageSectionTests {
    static let shape = DefaultLanguageSection.Shape(width: 64, hidden: 128, heads: 4, depth: 1, steps: 4, blockSize: 4,
                                                    rank: 4, logInterval: 1)

    @Test func threeInterleavedChildrenTrainTheAskedConfigurations() throws {
        let lines = InterleavedTrainingTests.Lines()
        let section = try DefaultLanguageSection.run(seed: 7, shape: Self.shape, extraArguments: ["--allow-debug"],
                                                     executable: BenchProcess.benchPath, output: lines.append)
        let runs = [section.dense, section.otherDense, section.pixelfly]
        #expect(Set(runs.map(\.linear)).count == 3)
        #expect(section.pixelfly.linear.contains("pixelfly"), "\(section.pixelfly.linear)")
        for run in runs {
            #expect(run.result.stepLosses.count == 4)
            #expect(run.result.configuration.seed == 7)
            guard case .gpt(let model) = run.result.configuration.model else { Issue.record("not a GPT"); continue }
            #expect(model.width == 64 && model.heads == 4 && model.depth == 1 && model.mlpHidden == 128)
        }
        // Same weights and data: the first loss of dense and dense-blocks agree to float rounding.
        let firstLosses = [section.dense, section.otherDense].map { $0.result.stepLosses[0] }
        #expect(abs(firstLosses[0] - firstLosses[1]) < 1e-4 * abs(firstLosses[0]), "\(firstLosses)")
        #expect(section.stepSpeedup > 0 && section.stepSpeedupSpread.min <= section.stepSpeedupSpread.max)
        #expect(section.table.text.contains("(baseline)"))
        #expect(lines.all.contains { $0.hasPrefix("   Pixelfly | ") }, "the children's lines are relayed with their prefix")
    }
}
