import Butterfly
import Testing

@Suite("Pixelfly budget allocator")
struct PixelflyBudgetTests {
    /// The reported fractions are the mask's real (quantised) cost, within the target.
    @Test(arguments: [(4096, 1024, 0.25), (1024, 4096, 0.25), (768, 3072, 0.25), (3072, 768, 0.3), (768, 768, 0.5), (1024, 1024, 0.1)])
    func allocationMeetsTargetWithRealCounts(out: Int, input: Int, target: Double) throws {
        let budget = try PixelflyBudget.allocate(outputFeatures: out, inputFeatures: input, targetFraction: target)
        let c = budget.configuration
        let mask = try FlatButterflyMask(outputFeatures: out, inputFeatures: input, configuration: c)
        #expect(budget.sparseFraction == mask.blockDensity)
        #expect(budget.lowRankFraction == Double(budget.rank * (out + input)) / Double(out * input))
        #expect(budget.flopFraction <= target + 1e-12)
        // Budget is used: the leftover is less than one rank quantum.
        #expect(target - budget.flopFraction < Double(16 * (out + input)) / Double(out * input) + 1e-12)
        #expect(c.blockSize % 16 == 0 && budget.rank % 16 == 0 && budget.rank >= 16)
        #expect(mask.tileRows >= c.blockSize && mask.tileColumns >= c.blockSize)
        #expect(Double(mask.parameterCount + budget.rank * (out + input)) / Double(out * input) == budget.parameterFraction)
        // Sparse part gets about three quarters of the budget.
        #expect(abs(budget.sparseFraction - 0.75 * target) < 0.5 * target)
    }

    @Test func invalidBudgetsThrow() {
        #expect(throws: PixelflyBudgetError.targetOutOfRange(0)) {
            try PixelflyBudget.allocate(outputFeatures: 512, inputFeatures: 512, targetFraction: 0)
        }
        #expect(throws: PixelflyBudgetError.targetOutOfRange(1.5)) {
            try PixelflyBudget.allocate(outputFeatures: 512, inputFeatures: 512, targetFraction: 1.5)
        }
        #expect(throws: PixelflyBudgetError.noBlockSizeFits(outputFeatures: 500, inputFeatures: 512)) {
            try PixelflyBudget.allocate(outputFeatures: 500, inputFeatures: 512, targetFraction: 0.25)
        }
        #expect(throws: PixelflyBudgetError.lowRankShareOutOfRange(1)) {
            try PixelflyBudget.allocate(outputFeatures: 512, inputFeatures: 512, targetFraction: 0.25, lowRankShare: 1)
        }
        do {
            _ = try PixelflyBudget.allocate(outputFeatures: 512, inputFeatures: 512, targetFraction: 0.01)
            Issue.record("a 1% budget cannot be met at 512×512")
        } catch let error as PixelflyBudgetError {
            guard case .targetTooSmall(_, let smallest) = error else { Issue.record("wrong error \(error)"); return }
            #expect(smallest > 0.01 && smallest < 0.2)
        } catch { Issue.record("unexpected \(error)") }
    }
}
