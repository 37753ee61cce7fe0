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
        let x = Matrix<Float>(rows: 16, cols: 64, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Float>(rows: 16, cols: 48, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        func step() throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        }
        try step()
        let count = try countAllocations { try step() }
        #expect(count == 0, "\(count) allocations in a steady-state low-rank step (bias \(bias))")
    }
}
