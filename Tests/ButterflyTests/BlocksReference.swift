import Foundation
import PixelflyModels
import PixelflyCore

/// Plain Double references for the blocks: loops over formulas, nothing shared with the
/// implementation under test.
enum BlocksReference {
    static func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    /// d gelu / dx = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh(√(2/π)·(x + 0.044715·x³)).
    static func geluDerivative(_ x: Double) -> Double {
        let c = (2 / Double.pi).squareRoot()
        let t = tanh(c * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    }

    static func layerNorm(_ x: Matrix<Double>, gain: Matrix<Double>, bias: Matrix<Double>, epsilon: Double) -> Matrix<Double> {
        var y = Matrix<Double>(rows: x.rows, cols: x.cols)
        for i in 0..<x.rows {
            let mean = (0..<x.cols).map { x[i, $0] }.reduce(0, +) / Double(x.cols)
            let variance = (0..<x.cols).map { (x[i, $0] - mean) * (x[i, $0] - mean) }.reduce(0, +) / Double(x.cols)
            for j in 0..<x.cols { y[i, j] = (x[i, j] - mean) / (variance + epsilon).squareRoot() * gain[0, j] + bias[0, j] }
        }
        return y
    }

    /// Softmax of each row, entries where `allowed(i, j)` is false taking score −∞.
    static func softmax(_ s: Matrix<Double>, allowed: (Int, Int) -> Bool = { _, _ in true }) -> Matrix<Double> {
        var p = Matrix<Double>(rows: s.rows, cols: s.cols)
        for i in 0..<s.rows {
            let masked = (0..<s.cols).map { allowed(i, $0) ? s[i, $0] : -Double.infinity }
            let m = masked.max()!
            let e = masked.map { exp($0 - m) }
            let total = e.reduce(0, +)
            for j in 0..<s.cols { p[i, j] = e[j] / total }
        }
        return p
    }

    /// The bias of a linear layer: its 1×out parameter named `….bias` (DenseLinear, LowRankLinear,
    /// BlockSparseLinear, PixelflyLinear — not the gated Pixelfly's 1×1 `….gate.bias`).
    static func bias<S: TensorScalar>(of layer: any LinearLayer<S>) -> Matrix<S>? {
        layer.parameters.last {
            $0.name.hasSuffix(".bias") && $0.value.rows == 1 && $0.value.cols == layer.outputFeatures && !$0.name.hasSuffix(".gate.bias")
        }?.value
    }

    /// x·Wᵀ + b for a linear layer given by its effective dense weight.
    static func linear<S: TensorScalar>(_ x: Matrix<S>, _ layer: any LinearLayer<S>) throws -> Matrix<Double> {
        var y = try NaiveReference.gemm(x, .none, layer.denseWeight(), .transposed)
        if let bias = bias(of: layer) {
            for i in 0..<y.rows { for j in 0..<y.cols { y[i, j] += Double(bias[0, j]) } }
        }
        return y
    }

    /// Multi-head attention with explicit loops over sequences, heads, queries and keys; masked
    /// pairs get score −∞ before the softmax.
    static func attention<S: TensorScalar>(_ x: Matrix<S>, _ attention: MultiHeadSelfAttention<S>,
                                            allowed: (Int, Int) -> Bool) throws -> Matrix<Double> {
        let q = try linear(x, attention.query), k = try linear(x, attention.key), v = try linear(x, attention.value)
        let t = attention.sequenceLength, d = attention.headFeatures
        var context = Matrix<Double>(rows: x.rows, cols: attention.features)
        for b in 0..<(x.rows / t) {
            for h in 0..<attention.heads {
                var scores = Matrix<Double>(rows: t, cols: t)
                for i in 0..<t {
                    for j in 0..<t {
                        var dot = 0.0
                        for e in 0..<d { dot += q[b * t + i, h * d + e] * k[b * t + j, h * d + e] }
                        scores[i, j] = dot / Double(d).squareRoot()
                    }
                }
                let p = softmax(scores, allowed: allowed)
                for i in 0..<t {
                    for e in 0..<d {
                        var sum = 0.0
                        for j in 0..<t { sum += p[i, j] * v[b * t + j, h * d + e] }
                        context[b * t + i, h * d + e] = sum
                    }
                }
            }
        }
        let outputWeight = attention.output.denseWeight().converted(to: Double.self)
        var y = try NaiveReference.gemm(context, .none, outputWeight, .transposed)
        if let bias = bias(of: attention.output) {
            for i in 0..<y.rows { for j in 0..<y.cols { y[i, j] += Double(bias[0, j]) } }
        }
        return y
    }

    /// The mask of `pattern` written out directly: causal j ≤ i; butterfly (i/b) XOR (j/b) is 0
    /// or a power of two below 2^K.
    static func mask(causal: Bool, pattern: AttentionScorePattern) -> (Int, Int) -> Bool {
        { i, j in
            if causal && j > i { return false }
            guard case let .flatButterfly(blockSize, factors) = pattern else { return true }
            let difference = (i / blockSize) ^ (j / blockSize)
            if difference == 0 { return true }
            return (0..<factors).contains { difference == 1 << $0 }
        }
    }
}
