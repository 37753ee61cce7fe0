import PixelflyModels
import PixelflyCore
import Testing

/// Steady-state forward + backward of every block allocates nothing once its buffers have seen
/// the shapes (counted by the malloc interposer of `countAllocations`).
@Suite("Blocks: allocation-free steady state")
struct BlocksAllocationTests {
    private func steadyStateAllocations(_ layer: any Layer<Float>, rows: Int, cols: Int) throws -> Int {
        var rng = SeededRandom(seed: 41)
        let x = Matrix<Float>(rows: rows, cols: cols, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0)
        try layer.forward(x, into: &y)
        let dy = Matrix<Float>(rows: y.rows, cols: y.cols, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        func step() throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        }
        try step()
        return try countAllocations { try step() }
    }

    @Test func elementwiseBlocks() throws {
        #expect(try steadyStateAllocations(GELU<Float>(), rows: 8, cols: 16) == 0)
        #expect(try steadyStateAllocations(Softmax<Float>(), rows: 8, cols: 16) == 0)
        #expect(try steadyStateAllocations(LayerNorm<Float>(features: 16), rows: 8, cols: 16) == 0)
        #expect(try steadyStateAllocations(Dropout<Float>(probability: 0.1, seed: 1), rows: 8, cols: 16) == 0)
    }

    @Test func mlpAndAttentionBlocks() throws {
        var rng = SeededRandom(seed: 42)
        let dense: LinearFactory<Float> = LinearFactories.dense()
        let mlp = try MLPBlock<Float>(features: 16, hiddenFeatures: 32, linear: dense, rng: &rng)
        #expect(try steadyStateAllocations(PreNormResidual(features: 16, body: mlp), rows: 24, cols: 16) == 0)
        for pattern in [AttentionScorePattern.dense, .flatButterfly(blockSize: 2, factors: 2)] {
            for causal in [false, true] {
                let attention = try MultiHeadSelfAttention<Float>(features: 16, heads: 4, sequenceLength: 8, causal: causal,
                                                                  scorePattern: pattern, linear: dense, rng: &rng)
                let block = try PreNormResidual(features: 16, body: attention)
                let count = try steadyStateAllocations(block, rows: 24, cols: 16)
                #expect(count == 0, "\(count) allocations, pattern \(pattern), causal \(causal)")
            }
        }
    }
}
