import PixelflyModels
import PixelflyCore

/// Element-wise blocks timed next to the dense linear they sit beside in a transformer.
enum ElementwiseBench {
    static func measure(rows: Int, features: Int, timing: TimingOptions) throws -> Table {
        var rng = SeededRandom(seed: 1)
        let hidden = 4 * features
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let h = Matrix<Float>(rows: rows, cols: hidden, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let scores = Matrix<Float>(rows: rows, cols: hidden, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng)
        let fc1 = try DenseLinear<Float>(features, hidden, rng: &rng)
        let gelu = GELU<Float>(), norm = try LayerNorm<Float>(features: features), softmax = Softmax<Float>()
        // Each layer keeps its own output and gradient buffers, as in a model.
        func step(_ layer: any Layer<Float>, _ input: Matrix<Float>) throws -> () throws -> Void {
            var out = Matrix<Float>(rows: 0, cols: 0), grad = Matrix<Float>(rows: 0, cols: 0)
            return {
                try layer.forward(input, into: &out)
                try layer.backward(input: input, outputGradient: out, inputGradient: &grad)
            }
        }
        let samples = try measureInterleaved(warmup: max(timing.warmup, 1), repetitions: timing.repetitions, [
            try step(fc1, x), try step(gelu, h), try step(norm, x), try step(softmax, scores),
        ])
        var table = Table(["operation (fwd+bwd)", "shape", "median ms", "ns / element", "vs fc1 GEMM"])
        let base = samples[0].median
        let entries: [(String, Int, Int)] = [("dense fc1 \(features)→\(hidden)", rows, features), ("GELU", rows, hidden),
                                             ("LayerNorm", rows, features), ("softmax", rows, hidden)]
        for ((name, r, c), sample) in zip(entries, samples) {
            table.append([name, "\(r)×\(c)", format(sample.median * 1e3, 3),
                          format(sample.median * 1e9 / Double(r * c), 2), format(sample.median / base, 3)])
        }
        return table
    }
}
