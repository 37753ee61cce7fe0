import PixelflyModels
import PixelflyCore

/// Dense against flat-butterfly block-sparse attention at one shape, with the four projections
/// alone as a third timing (the part both layers share).
enum AttentionBench {
    struct Shape {
        var batch: Int
        var sequenceLength: Int
        var features: Int
        var heads: Int
        var causal: Bool
    }

    static let columns = ["B×T", "causal", "pattern", "scores computed (dense / butterfly)", "projections ms",
                          "dense layer ms", "butterfly layer ms", "speed-up"]

    static func measure(_ shape: Shape, blockSize: Int, factors: Int, timing: TimingOptions, into table: inout Table) throws {
        let pattern = AttentionScorePattern.flatButterfly(blockSize: blockSize, factors: factors)
        var rng = SeededRandom(seed: 2)
        func make(_ pattern: AttentionScorePattern) throws -> MultiHeadSelfAttention<Float> {
            try MultiHeadSelfAttention<Float>(features: shape.features, heads: shape.heads, sequenceLength: shape.sequenceLength,
                                              causal: shape.causal, scorePattern: pattern, linear: LinearFactories.dense(), rng: &rng)
        }
        let dense = try make(.dense), sparse = try make(pattern)
        let x = Matrix<Float>(rows: shape.batch * shape.sequenceLength, cols: shape.features,
                              initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
        func step(_ layer: any Layer<Float>) throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: y, inputGradient: &dx)
        }
        let projections = [dense.query, dense.key, dense.value, dense.output]
        let samples = try measureInterleaved(warmup: max(timing.warmup, 1), repetitions: timing.repetitions, [
            { for projection in projections { try step(projection) } },
            { try step(dense) },
            { try step(sparse) },
        ])
        table.append(["\(shape.batch)×\(shape.sequenceLength)", shape.causal ? "yes" : "no", "b=\(blockSize) K=\(factors)",
                      format(dense.scoreDensity, 3) + " / " + format(sparse.scoreDensity, 3),
                      format(samples[0].median * 1e3, 2), format(samples[1].median * 1e3, 2),
                      format(samples[2].median * 1e3, 2), format(samples[1].median / samples[2].median, 2) + "×"])
    }
}
