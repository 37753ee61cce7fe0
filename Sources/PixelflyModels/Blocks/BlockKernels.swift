import CVectorKernels
import PixelflyCore

/// The per-element loops of the blocks (GELU, row softmax, LayerNorm), on raw pointers.
///
/// Each kernel is generic but carries `@_specialize` for `Float` and `Double`: a call from
/// unspecialised generic code (e.g. a `GELU<Float>` created in another module) checks the type
/// once at entry and jumps to the concrete, vectorisable body, so no per-element generic
/// dispatch happens. The Float GELU and LayerNorm rows are C with an AVX2+FMA body, GELU with
/// an AVX-512F one first (`CVectorKernels`); the Float softmax exponentials are eight-lane
/// SIMD code (`FloatKernels`, with a vectorised `exp`). Reductions use four independent
/// accumulators so that the compiler may keep them in vector lanes (a single running sum is a
/// serial dependency chain).
public enum BlockKernels {
    /// √(2/π), the GELU tanh-approximation constant.
    @usableFromInline static let geluScale = 0.797_884_560_802_865_4
    /// The cubic coefficient of the GELU tanh approximation.
    @usableFromInline static let geluCubic = 0.044_715

    /// `y[i] = gelu(x[i])`, tanh approximation written as a logistic:
    ///
    ///     gelu(x) = ½·x·(1 + tanh u) = x·σ(2u) = x / (1 + e^(−2u)),   u = √(2/π)·(x + 0.044715·x³)
    ///
    /// The logistic form has no cancellation and saturates cleanly: for x → −∞, e^(−2u) → ∞ and
    /// y → −0; for x → +∞, y → x.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func geluForward<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        if Scalar.self == Float.self {
            return pixelfly_gelu_forward_f32(x.asFloat, y.asFloat, count) // AVX-512F or AVX2+FMA body where available
        }
        let c = Scalar(geluScale), a = Scalar(geluCubic)
        for i in 0..<count {
            let v = x[i]
            let u = c * (v + a * v * v * v)
            y[i] = v / (1 + Scalar.exp(-2 * u))
        }
    }

    /// `dx[i] = dy[i] · gelu′(x[i])` with, for s = σ(2u),
    ///
    ///     gelu′(x) = s + x·s·(1 − s)·2·√(2/π)·(1 + 3·0.044715·x²).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func geluBackward<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        if Scalar.self == Float.self {
            return pixelfly_gelu_backward_f32(x.asFloat, dy.asFloat, dx.asFloat, count)
        }
        let c = Scalar(geluScale), a = Scalar(geluCubic)
        for i in 0..<count {
            let v = x[i]
            let u = c * (v + a * v * v * v)
            let s = 1 / (1 + Scalar.exp(-2 * u))
            let du = 2 * c * (1 + 3 * a * v * v)
            dx[i] = dy[i] * (s + v * s * (1 - s) * du)
        }
    }

    /// `a[i] = gelu(h[i])` as `geluForward` computes it, and h[i] ← gelu′(h[i]) as
    /// `geluBackward` computes it: the forward of a pair whose backward multiplies by the kept
    /// derivative (`scale`) instead of recomputing GELU's gate from h. For Float the pair gives
    /// the same bits as `geluForward` and `geluBackward` (`pixelfly_gelu_forward_derivative_rows_f32`;
    /// 1.27–1.29 + 0.17–0.18 ns per element against 0.98–0.99 + 1.29–1.30 on an AMD EPYC Zen 2,
    /// AVX2 body); for Double, the same formulas as theirs.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func geluForwardKeepingDerivative<Scalar: TensorScalar>(
        _ h: UnsafeMutablePointer<Scalar>, _ a: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        if Scalar.self == Float.self {
            return pixelfly_gelu_forward_derivative_rows_f32(h.asFloat, a.asFloat, 1, count, count)
        }
        let c = Scalar(geluScale), k = Scalar(geluCubic)
        for i in 0..<count {
            let v = h[i]
            let u = c * (v + k * v * v * v)
            let e = Scalar.exp(-2 * u)
            let s = 1 / (1 + e)
            a[i] = v / (1 + e)
            h[i] = s + v * s * (1 - s) * (2 * c * (1 + 3 * k * v * v))
        }
    }

    /// `out[i] *= factor[i]`: dh = gelu′(h) ⊙ da with the derivative kept by
    /// `geluForwardKeepingDerivative`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func scale<Scalar: TensorScalar>(
        _ factor: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        if Scalar.self == Float.self {
            return pixelfly_scale_rows_f32(UnsafeRawPointer(factor).assumingMemoryBound(to: Float.self), out.asFloat, 1, count, count)
        }
        for i in 0..<count { out[i] = factor[i] * out[i] }
    }

    /// In-place numerically stable softmax of `row[0..<valid]`; `row[valid..<width]` (masked
    /// entries) is set to 0.
    ///
    ///     p_j = exp(s_j − m) / Σ_k exp(s_k − m),   m = max_k s_k
    ///
    /// Subtracting the row maximum keeps every exponent ≤ 0, so nothing overflows and the
    /// largest term is exactly 1 (the sum is ≥ 1). Requires `valid ≥ 1`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func softmaxRow<Scalar: TensorScalar>(_ row: UnsafeMutablePointer<Scalar>, valid: Int, width: Int) {
        var m0 = row[0], m1 = row[0], m2 = row[0], m3 = row[0]
        var j = 0
        while j + 4 <= valid {
            m0 = max(m0, row[j]); m1 = max(m1, row[j + 1]); m2 = max(m2, row[j + 2]); m3 = max(m3, row[j + 3])
            j += 4
        }
        while j < valid { m0 = max(m0, row[j]); j += 1 }
        let m = max(max(m0, m1), max(m2, m3))
        let total: Scalar
        if Scalar.self == Float.self {
            total = Scalar(FloatKernels.exponentiate(row.asFloat, count: valid, shift: Float(m)))
        } else {
            for j in 0..<valid { row[j] = Scalar.exp(row[j] - m) }
            total = sum(row, count: valid)
        }
        let inverse = 1 / total
        for j in 0..<valid { row[j] *= inverse }
        for j in valid..<width { row[j] = 0 }
    }

    /// Softmax backward for one row, in place: on entry `gradient` holds ∂L/∂p, on exit ∂L/∂s.
    ///
    ///     ∂L/∂s_j = p_j · (∂L/∂p_j − Σ_k p_k · ∂L/∂p_k)
    ///
    /// Masked entries have p_j = 0 and so get a zero gradient.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func softmaxRowBackward<Scalar: TensorScalar>(
        probabilities p: UnsafePointer<Scalar>, gradient g: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        let inner = dot(UnsafePointer(g), p, count: count)
        for j in 0..<count { g[j] = p[j] * (g[j] - inner) }
    }

    /// Σ x[i] with four accumulators.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func sum<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
        var i = 0
        while i + 4 <= count {
            s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]
            i += 4
        }
        while i < count { s0 += x[i]; i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// C (m×n, row-major, `ldc`) += A·Bᵀ for row-major A (m×k, `lda`) and B (n×k, `ldb`), and
    /// rowSums[i] += Σ_p A[i, p]: a weight gradient and its bias gradient when the product reduces
    /// over both operands' contiguous axis (`DenseTokenMixing`'s dW += dY_b·A_bᵀ, db += dY_b·1).
    ///
    /// Float runs `pixelfly_inner_products_f32` (4×4 blocks of C with AVX-512F, 4×2 with
    /// AVX2+FMA, one vector of partial sums per element). OpenBLAS takes these shapes on its
    /// small-matrix "tn" path: for the default Mixer's 64 sequences (16×32 and 32×16 outputs over
    /// k = 768) both weight gradients with their row sums took 2.0–2.1 ms on one Intel Xeon core
    /// (OpenBLAS `SkylakeX`; 3.0–3.1 under `Haswell`), against 1.0 (AVX-512F) and 1.5 ms (AVX2)
    /// here (`scripts/inner-products-experiment.c`). Double stays on BLAS.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func addInnerProducts<Scalar: TensorScalar>(
        _ a: UnsafePointer<Scalar>, lda: Int, _ b: UnsafePointer<Scalar>, ldb: Int,
        into c: UnsafeMutablePointer<Scalar>, ldc: Int, m: Int, n: Int, k: Int, rowSums: UnsafeMutablePointer<Scalar>
    ) {
        if Scalar.self == Float.self {
            return pixelfly_inner_products_f32(a.asFloat, lda, b.asFloat, ldb, c.asFloat, ldc, m, n, k, rowSums.asFloat)
        }
        Scalar.gemm(.none, .transposed, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: c, ldc: ldc)
        for i in 0..<m { rowSums[i] += sum(a + i * lda, count: k) }
    }

    /// Σ x[i]·y[i] with four accumulators.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func dot<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ y: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
        var i = 0
        while i + 4 <= count {
            s0 += x[i] * y[i]; s1 += x[i + 1] * y[i + 1]; s2 += x[i + 2] * y[i + 2]; s3 += x[i + 3] * y[i + 3]
            i += 4
        }
        while i < count { s0 += x[i] * y[i]; i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// `x[i] *= factors[i]`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func multiply<Scalar: TensorScalar>(
        _ x: UnsafeMutablePointer<Scalar>, by factors: UnsafePointer<Scalar>, count: Int
    ) {
        for i in 0..<count { x[i] *= factors[i] }
    }

    /// `mask[i] = 1/keep` with probability `keep`, else 0 (one uniform draw per element, in order).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func bernoulliMask<Scalar: TensorScalar>(
        _ mask: UnsafeMutablePointer<Scalar>, count: Int, keep: Double, random: inout SeededRandom
    ) {
        let scale = Scalar(1 / keep)
        for i in 0..<count { mask[i] = random.nextUnit() < keep ? scale : 0 }
    }
}

extension UnsafePointer {
    /// The same address as Float elements; only called where `Pointee == Float`.
    @inlinable var asFloat: UnsafePointer<Float> { UnsafeRawPointer(self).assumingMemoryBound(to: Float.self) }
}

extension UnsafeMutablePointer {
    /// The same address as Float elements; only called where `Pointee == Float`.
    @inlinable var asFloat: UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: Float.self) }
}
