import PixelflyCore
import PixelflyModels

/// The channel-mixing MLP block of the default job's Mixer (C → hidden → C, dense and Pixelfly
/// with the job's mask and rank) with GELU fused into its linears (`MLPBlock.fusesActivation`)
/// and as separate passes, forward + backward, all four interleaved in one process.
enum MLPFusionBench {
    static func measure(rows: Int, features: Int, hidden: Int, pixelfly: LinearKind, timing: TimingOptions) throws -> Table {
        var data = SeededRandom(seed: 2)
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        let dy = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        func block(_ kind: LinearKind, fused: Bool) throws -> () throws -> Void {
            var rng = SeededRandom(seed: 3)
            let mlp = try MLPBlock<Float>(features: features, hiddenFeatures: hidden, linear: kind.factory(), rng: &rng)
            mlp.fusesActivation = fused
            var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            return {
                try mlp.forward(x, into: &y)
                try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
            }
        }
        let samples = try measureInterleaved(warmup: max(timing.warmup, 1), repetitions: timing.repetitions, [
            try block(.dense, fused: false), try block(.dense, fused: true),
            try block(pixelfly, fused: false), try block(pixelfly, fused: true),
        ])
        var table = Table(["MLP block (fwd+bwd)", "GELU", "median ms", "fused ÷ separate", "÷ dense (same GELU mode)"])
        for (i, sample) in samples.enumerated() {
            let (kind, fused) = (i < 2 ? "dense" : "pixelfly", i % 2 == 1)
            table.append(["\(kind) \(features)→\(hidden)→\(features), \(rows) rows", fused ? "fused" : "separate",
                          format(sample.median * 1e3, 3),
                          fused ? format(sample.median / samples[i - 1].median, 3) : "",
                          i < 2 ? "" : format(sample.median / samples[i - 2].median, 3)])
        }
        return table
    }
}
