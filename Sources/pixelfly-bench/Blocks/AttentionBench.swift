import Models
import PixelflyCore

/// Dense against flat-butterfly block-sparse attention at one sequence length.
enum AttentionBench {
    static func measure(sequenceLength: Int, features: Int, heads: Int, causal: Bool, blockSize: Int, factors: Int,
                        timing: TimingOptions, into table: inout Table) throws {
        let pattern = AttentionScorePattern.flatButterfly(blockSize: blockSize, factors: factors)
        var rng = SeededRandom(seed: 2)
        let dense = try MultiHeadSelfAttention<Float>(features: features, heads: heads, sequenceLength: sequenceLength,
                                                      causal: causal, linear: LinearFactories.dense(), rng: &rng)
        let sparse = try MultiHeadSelfAttention<Float>(features: features, heads: heads, sequenceLength: sequenceLength,
                                                       causal: causal, scorePattern: pattern, linear: LinearFactories.dense(), rng: &rng)
        let x = Matrix<Float>(rows: sequenceLength, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
        func step(_ layer: MultiHeadSelfAttention<Float>) throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: y, inputGradient: &dx)
        }
        let samples = try measureInterleaved(warmup: timing.warmup, repetitions: timing.repetitions,
                                             [{ try step(dense) }, { try step(sparse) }])
        table.append(["\(sequenceLength)", causal ? "yes" : "no", "b=\(blockSize) K=\(factors)",
                      format(dense.scoreDensity, 3) + " / " + format(sparse.scoreDensity, 3), format(samples[0].median * 1e3, 2),
                      format(samples[1].median * 1e3, 2), format(samples[0].median / samples[1].median, 2) + "×"])
    }
}
