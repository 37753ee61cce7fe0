import CVectorKernels
import PixelflyCore

extension BlockKernels {
    /// LayerNorm of one row of length n:
    ///
    ///     μ = Σx/n,  σ² = Σ(x − μ)²/n (biased, as PyTorch),  r = 1/√(σ² + ε)
    ///     x̂ = (x − μ)·r,  y = γ ⊙ x̂ + β
    ///
    /// Two passes (mean, then centred squares) rather than Σx² − nμ², which cancels badly when
    /// |μ| ≫ σ. Returns (μ, r) for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRow<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>,
        gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>, count n: Int, epsilon: Scalar
    ) -> (mean: Scalar, reciprocalStandardDeviation: Scalar) {
        let mean = sum(x, count: n) / Scalar(n)
        // y holds the centred row first, so the variance is one dot product.
        for j in 0..<n { y[j] = x[j] - mean }
        let variance = dot(UnsafePointer(y), UnsafePointer(y), count: n) / Scalar(n)
        let r = 1 / (variance + epsilon).squareRoot()
        for j in 0..<n { y[j] = y[j] * r * gain[j] + bias[j] }
        return (mean, r)
    }

    /// LayerNorm backward for one row. With g = ∂L/∂y ⊙ γ:
    ///
    ///     ∂L/∂x = r · (g − mean(g) − x̂ · mean(g ⊙ x̂))
    ///     ∂L/∂γ += ∂L/∂y ⊙ x̂,   ∂L/∂β += ∂L/∂y
    ///
    /// (derivation in notebooks-md/blocks.md). `dx` is overwritten (with `skip` added when given);
    /// the gain and bias gradients accumulate.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRowBackward<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>,
        gain: UnsafePointer<Scalar>, gainGradient: UnsafeMutablePointer<Scalar>,
        biasGradient: UnsafeMutablePointer<Scalar>,
        count n: Int, mean: Scalar, reciprocalStandardDeviation r: Scalar, skip: UnsafePointer<Scalar>? = nil
    ) {
        // First pass: x̂ into dx (scratch) and the parameter gradients; then the two row means.
        for j in 0..<n {
            let xHat = (x[j] - mean) * r
            dx[j] = xHat
            gainGradient[j] += dy[j] * xHat
            biasGradient[j] += dy[j]
        }
        let sumG = dot(dy, gain, count: n)
        var sumGX: Scalar = 0
        for j in 0..<n { sumGX += dy[j] * gain[j] * dx[j] }
        let meanG = sumG / Scalar(n), meanGX = sumGX / Scalar(n)
        for j in 0..<n { dx[j] = r * (dy[j] * gain[j] - meanG - dx[j] * meanGX) }
        if let skip { for j in 0..<n { dx[j] += skip[j] } }
    }
}

extension BlockKernels {
    /// LayerNorm of `rows` rows of length n (`layerNormRow` each; for Float the same formulas in
    /// C with AVX-512F and AVX2+FMA bodies), rows spread over `ComputeThreads`; `statistics[2i],
    /// statistics[2i+1]` receive row i's (μ, r).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRows<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, rows: Int, count n: Int,
        gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>, epsilon: Scalar,
        statistics: UnsafeMutablePointer<Scalar>
    ) {
        ComputeThreads.parallelRanges(rows, minimumLength: max(1, 16_384 / max(n, 1)), alignment: 1) { range in
            let first = range.lowerBound
            layerNormRowsOnThisThread(x + first * n, y + first * n, rows: range.count, count: n, gain: gain, bias: bias,
                                      epsilon: epsilon, statistics: statistics + 2 * first)
        }
    }

    /// `layerNormRows` on the calling thread alone: for a caller that already runs on a compute
    /// thread (`TokenMixingKernels` with its pre-norm, one sequence's rows at a time).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRowsOnThisThread<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, rows: Int, count n: Int,
        gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>, epsilon: Scalar,
        statistics: UnsafeMutablePointer<Scalar>
    ) {
        if Scalar.self == Float.self {
            // CVectorKernels runs the fastest body the CPU has (AVX-512F, AVX2+FMA, portable).
            return pixelfly_layernorm_rows_f32(x.asFloat, y.asFloat, rows, n, gain.asFloat, bias.asFloat, Float(epsilon),
                                               statistics.asFloat)
        }
        for i in 0..<rows {
            let (mean, r) = layerNormRow(x + i * n, y + i * n, gain: gain, bias: bias, count: n, epsilon: epsilon)
            statistics[2 * i] = mean
            statistics[2 * i + 1] = r
        }
    }

    /// LayerNorm backward over `rows` rows (`layerNormRowBackward` each) on `ComputeThreads`.
    /// Each thread accumulates its rows' gain and bias gradients into its own slice of
    /// `partials` (ComputeThreads.count × 2n elements, contents ignored on entry), and the slices
    /// are added to `gainGradient` / `biasGradient` at the end, so the result does not depend on
    /// which thread ran which rows beyond the order of that final sum. `skip` (rows × n), when
    /// given, is added to dx as each row is stored: the skip path of a pre-norm residual block,
    /// one pass over dx fewer than adding it afterwards (`PreNormResidual`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRowsBackward<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>,
        rows: Int, count n: Int, gain: UnsafePointer<Scalar>, statistics: UnsafePointer<Scalar>,
        gainGradient: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>,
        partials: UnsafeMutablePointer<Scalar>, skip: UnsafePointer<Scalar>? = nil
    ) {
        let parts = ComputeThreads.partCount(work: rows * n, minimumPerPart: 16_384)
        let step = ComputeThreads.partLength(items: rows, parts: parts)
        partials.initialize(repeating: 0, count: parts * 2 * n)
        ComputeThreads.parallelFor(parts) { part, _ in
            let partialGain = partials + part * 2 * n
            let first = part * step, end = min(rows, (part + 1) * step)
            layerNormRowsBackwardOnThisThread(x + first * n, dy + first * n, dx + first * n, rows: max(0, end - first), count: n,
                                              gain: gain, statistics: statistics + 2 * first,
                                              gainGradient: partialGain, biasGradient: partialGain + n,
                                              skip: skip.map { $0 + first * n })
        }
        for part in 0..<parts {
            let partialGain = partials + part * 2 * n, partialBias = partialGain + n
            for j in 0..<n {
                gainGradient[j] += partialGain[j]
                biasGradient[j] += partialBias[j]
            }
        }
    }

    /// `layerNormRowsBackward` on the calling thread alone, its gain and bias gradients added to
    /// `gainGradient` / `biasGradient` directly (the caller's own partial sums).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRowsBackwardOnThisThread<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>,
        rows: Int, count n: Int, gain: UnsafePointer<Scalar>, statistics: UnsafePointer<Scalar>,
        gainGradient: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>, skip: UnsafePointer<Scalar>? = nil
    ) {
        if Scalar.self == Float.self {
            return pixelfly_layernorm_rows_backward_f32(x.asFloat, dy.asFloat, dx.asFloat, rows, n, gain.asFloat, statistics.asFloat,
                                                        gainGradient.asFloat, biasGradient.asFloat, skip.map { $0.asFloat })
        }
        for i in 0..<rows {
            layerNormRowBackward(x + i * n, dy + i * n, dx + i * n, gain: gain,
                                 gainGradient: gainGradient, biasGradient: biasGradient, count: n,
                                 mean: statistics[2 * i], reciprocalStandardDeviation: statistics[2 * i + 1],
                                 skip: skip.map { $0 + i * n })
        }
    }
}
