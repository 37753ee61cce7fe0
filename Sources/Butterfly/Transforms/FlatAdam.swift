#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// Adam (Kingma & Ba) with β₁ = 0.9, β₂ = 0.999, ε = 1e-12 on one flat Double parameter, for
/// `DFTLearning` (PixelflyTraining's AdamW is out of reach from here and carries weight decay):
///
///     m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  w ← w − η·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε).
struct FlatAdam {
    private var m: [Double]
    private var v: [Double]
    private var t = 0

    init(count: Int) {
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
    }

    /// One step on `value` (whose element count is the `count` given at init) along `gradient`.
    mutating func update(_ value: inout Matrix<Double>, gradient: Matrix<Double>, learningRate: Double) {
        precondition(value.count == m.count && gradient.count == m.count, "FlatAdam: parameter size changed")
        t += 1
        let (b1, b2) = (0.9, 0.999)
        let c1 = 1 - pow(b1, Double(t)), c2 = 1 - pow(b2, Double(t))
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                for i in w.indices {
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    w[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-12)
                }
            }
        }
    }
}
