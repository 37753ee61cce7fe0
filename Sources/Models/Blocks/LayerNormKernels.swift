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
    /// (derivation in notebooks-md/blocks.md). `dx` is overwritten; the gain and bias gradients
    /// accumulate.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func layerNormRowBackward<Scalar: TensorScalar>(
        _ x: UnsafePointer<Scalar>, _ dy: UnsafePointer<Scalar>, _ dx: UnsafeMutablePointer<Scalar>,
        gain: UnsafePointer<Scalar>, gainGradient: UnsafeMutablePointer<Scalar>,
        biasGradient: UnsafeMutablePointer<Scalar>,
        count n: Int, mean: Scalar, reciprocalStandardDeviation r: Scalar
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
    }
}
