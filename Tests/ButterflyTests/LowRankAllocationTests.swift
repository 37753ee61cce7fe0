import LowRank
import PixelflyCore
import Testing

@Suite("LowRankLinear allocation", .serialized)
struct LowRankAllocationTests {
    /// Forward and backward into kept buffers allocate nothing once the batch size has been
    /// seen: the hidden h = x·Vᵀ and dh live in the layer's reused workspaces.
    @Test(arguments: [false, true])
    func steadyStateIsAllocationFree(bias: Bool) throws {
        var rng = SeededRandom(seed: 2)
        let layer = try LowRankLinear<Float>(64, 48, rank: 8, bias: bias, rng: &rng)
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state low-rank step (bias \(bias))")
    }
}
