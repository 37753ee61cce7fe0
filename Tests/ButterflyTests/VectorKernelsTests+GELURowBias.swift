import CVectorKernels
import PixelflyCore
import Testing

/// `pixelfly_gelu_forward_derivative_rows_bias_f32_body` (the GELU that adds the token-mixing
/// hidden layer's bias) against the plain body run on h + b_r, rounded to Float first: both
/// form v = h + b_r in Float before the gate, so every body must give the same bits. A NULL
/// bias must leave h as it is (−0 included). Rows of 1–3072 elements cover every body's tail.
/// (Part of the `VectorKernelsTests` suite, whose CPU checks decide which bodies run.)
extension VectorKernelsTests {
    @Test(.disabled(if: avx512Unavailable, "this CPU does not report AVX-512F with OS-enabled ZMM state, so the AVX-512 body cannot run"),
          arguments: bodyCounts)
    func geluRowBiasAVX512Body(count: Int) { checkGELURowBiasBody(Int32(PIXELFLY_BODY_AVX512), count: count) }

    @Test(.disabled(if: avx2Unavailable, "this CPU does not report AVX2 and FMA, so the AVX2 body cannot run"),
          arguments: bodyCounts)
    func geluRowBiasAVX2Body(count: Int) { checkGELURowBiasBody(Int32(PIXELFLY_BODY_AVX2), count: count) }

    @Test(arguments: bodyCounts)
    func geluRowBiasPortableBody(count: Int) { checkGELURowBiasBody(Int32(PIXELFLY_BODY_PORTABLE), count: count) }

    func checkGELURowBiasBody(_ body: Int32, count: Int) {
        let rows = 3
        var rng = SeededRandom(seed: UInt64(count) &* 11 &+ UInt64(body))
        var h = Matrix<Float>(rows: rows, cols: count, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage
        h[0] = -0.0
        let bias: [Float] = [0.75, -2.5, 0]
        var shifted = h
        for r in 0..<rows { for i in 0..<count { shifted[r * count + i] = h[r * count + i] + bias[r] } }
        var (a, aReference) = ([Float](repeating: 0, count: rows * count), [Float](repeating: 0, count: rows * count))
        var hWithBias = h
        pixelfly_gelu_forward_derivative_rows_bias_f32_body(body, &hWithBias, &a, rows, count, count, bias)
        pixelfly_gelu_forward_derivative_rows_f32_body(body, &shifted, &aReference, rows, count, count)
        #expect(a == aReference, "body \(body): gelu(h + b) differs from gelu of the shifted rows")
        #expect(hWithBias == shifted, "body \(body): gelu′(h + b) differs from gelu′ of the shifted rows")

        var (plain, noBias) = (h, h)
        var (aPlain, aNoBias) = (a, a)
        pixelfly_gelu_forward_derivative_rows_f32_body(body, &plain, &aPlain, rows, count, count)
        pixelfly_gelu_forward_derivative_rows_bias_f32_body(body, &noBias, &aNoBias, rows, count, count, nil)
        #expect(aNoBias.map(\.bitPattern) == aPlain.map(\.bitPattern), "body \(body): a NULL bias changed gelu")
        #expect(noBias.map(\.bitPattern) == plain.map(\.bitPattern), "body \(body): a NULL bias changed gelu′")
        #expect(aPlain[0].sign == .minus, "body \(body): gelu(−0) should stay −0")
    }
}
