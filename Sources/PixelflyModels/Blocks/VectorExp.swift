/// A vectorised `exp` for Float, eight lanes at a time, for the GELU and softmax kernels.
///
/// libm's `expf` is scalar (one call per element, about as costly as the rest of GELU
/// together). This is the textbook reduction, written out so that it compiles to plain SSE
/// vector instructions on the default x86-64 target (no rounding instruction or FMA needed):
///
///     x = n·ln2 + r,  n = round(x·log2 e),  |r| ≤ ln2/2
///     e^x = 2^n · e^r,  e^r ≈ Σ_{k=0…7} r^k/k!   (Horner)
///
/// The truncation error of the degree-7 Taylor polynomial is below (ln2/2)^8/8! ≈ 5·10⁻⁹
/// relative — under half an ulp of Float — and ln2 is split into a high part exact in Float
/// and a low correction, so r carries no extra rounding. n is rounded by the 1.5·2²³
/// magic-number trick, and 2^n is built in the exponent bits. Inputs are clamped to
/// [−87.3, 88.3], so the result is always finite and positive: exp(−∞) gives ≈ 1.2·10⁻³⁸ (not
/// 0), exp(+∞) ≈ 2.1·10³⁸. Callers that need exact zeros (masked scores) set them themselves.
@usableFromInline
enum VectorExp {
    @usableFromInline static let log2e: Float = 1.442_695_04
    /// ln 2 = ln2High + ln2Low (Cody–Waite split; ln2High = 355/512 has 9 significant bits,
    /// so n·ln2High is exact for every |n| ≤ 128).
    @usableFromInline static let ln2High: Float = 0.693_359_375
    @usableFromInline static let ln2Low: Float = -2.121_944_40e-4
    @usableFromInline static let roundingMagic: Float = 12_582_912 // 1.5·2²³

    @inlinable @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamped by masked replacement: `pointwiseMin`/`Max` are not inlined and cost a call each.
        var clamped = x
        clamped.replace(with: 88.3, where: x .> 88.3)
        clamped.replace(with: -87.3, where: x .< -87.3)
        let shifted = clamped * log2e + roundingMagic
        let n = shifted - roundingMagic
        let r = (clamped - n * ln2High) - n * ln2Low
        var p = SIMD8<Float>(repeating: Float(1) / 5040)
        p = p * r + Float(1) / 720
        p = p * r + Float(1) / 120
        p = p * r + Float(1) / 24
        p = p * r + Float(1) / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // The low mantissa bits of `shifted` hold n + 2²² + 2²³·… ; subtracting the magic's
        // bit pattern leaves n as an integer.
        let integerN = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(SIMD8<Float>(repeating: roundingMagic), to: SIMD8<Int32>.self)
        let twoToN = unsafeBitCast((integerN &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * twoToN
    }
}
