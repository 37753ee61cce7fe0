import PixelflyModels
import PixelflyCore
import CVectorKernels
import Testing

/// Each LayerNorm body of `CVectorKernels` run explicitly (the dispatching entry points take only
/// the fastest one this CPU has) against the generic Double rows (`layerNormRow`,
/// `layerNormRowBackward`, checked by finite differences in `BlocksTests`) on the same inputs.
/// Row lengths cover the 16-lane body's masked tail (n mod 16 from 1 to 15), its four-sum
/// stride (64) and the AVX2 body's (32) with and without leftovers; lengths the AVX2 body does
/// not take (not a multiple of 8) go to the portable one. A sentinel after the last row must
/// survive, and the gain and bias gradients add to what they already hold.
extension VectorKernelsTests {
    static let layerNormLengths = [1, 7, 8, 13, 16, 24, 40, 64, 72, 100, 768, 775]

    @Test(.disabled(if: avx512Unavailable, "this CPU does not report AVX-512F with OS-enabled ZMM state, so the AVX-512 body cannot run"),
          arguments: layerNormLengths)
    func layerNormAVX512Body(features: Int) throws { try checkLayerNormBody(Int32(PIXELFLY_BODY_AVX512), features: features) }

    @Test(.disabled(if: avx2Unavailable, "this CPU does not report AVX2 and FMA, so the AVX2 body cannot run"),
          arguments: layerNormLengths)
    func layerNormAVX2Body(features: Int) throws { try checkLayerNormBody(Int32(PIXELFLY_BODY_AVX2), features: features) }

    @Test(arguments: layerNormLengths)
    func layerNormPortableBody(features: Int) throws { try checkLayerNormBody(Int32(PIXELFLY_BODY_PORTABLE), features: features) }

    func checkLayerNormBody(_ body: Int32, features n: Int) throws {
        let rows = 3
        var rng = SeededRandom(seed: UInt64(n) &* 13 &+ UInt64(body))
        func draw(_ count: Int, mean: Float, spread: Float) -> [Float] {
            Matrix<Float>(rows: 1, cols: count, initializer: .normal(mean: Double(mean), standardDeviation: Double(spread)), rng: &rng).storage
        }
        let x = draw(rows * n, mean: 2, spread: 1.5), dy = draw(rows * n, mean: 0, spread: 1)
        let gain = draw(n, mean: 1, spread: 0.5), bias = draw(n, mean: 0, spread: 0.5)
        let gainStart = draw(n, mean: 0, spread: 1), biasStart = draw(n, mean: 0, spread: 1)
        let sentinel: Float = 12345, epsilon: Float = 1e-5
        var y = [Float](repeating: sentinel, count: rows * n + 1), dx = y
        var stats = [Float](repeating: sentinel, count: 2 * rows + 1)
        var gainGradient = gainStart + [sentinel], biasGradient = biasStart + [sentinel]
        pixelfly_layernorm_rows_f32_body(body, x, &y, rows, n, gain, bias, epsilon, &stats)
        pixelfly_layernorm_rows_backward_f32_body(body, x, dy, &dx, rows, n, gain, stats, &gainGradient, &biasGradient, nil)
        // With a skip gradient: dx + skip, within a rounding (a fused multiply-add may round
        // once fewer). The parameter gradients go to copies, so the checks below see one call.
        let skip = draw(rows * n, mean: 0, spread: 1)
        var dxSkip = [Float](repeating: sentinel, count: rows * n + 1)
        var (gainAgain, biasAgain) = (gainGradient, biasGradient)
        pixelfly_layernorm_rows_backward_f32_body(body, x, dy, &dxSkip, rows, n, gain, stats, &gainAgain, &biasAgain, skip)
        #expect(dxSkip[rows * n] == sentinel, "body \(body) wrote past the last row with a skip gradient")
        for k in 0..<(rows * n) {
            let expected = Double(dx[k]) + Double(skip[k])
            #expect(abs(Double(dxSkip[k]) - expected) <= 1e-6 * max(abs(Double(dx[k])) + abs(Double(skip[k])), 1),
                    "body \(body) dx[\(k)] + skip")
        }
        #expect(y[rows * n] == sentinel && dx[rows * n] == sentinel && stats[2 * rows] == sentinel,
                "body \(body) wrote past the last row")
        #expect(gainGradient[n] == sentinel && biasGradient[n] == sentinel, "body \(body) wrote past the gradients")

        let (xd, dyd, gd, bd) = (x.map(Double.init), dy.map(Double.init), gain.map(Double.init), bias.map(Double.init))
        var yRef = [Double](repeating: 0, count: rows * n), dxRef = yRef
        var gainRef = gainStart.map(Double.init), biasRef = biasStart.map(Double.init)
        for i in 0..<rows {
            let (mean, r) = xd.withUnsafeBufferPointer { xp in
                yRef.withUnsafeMutableBufferPointer { yp in
                    BlockKernels.layerNormRow(xp.baseAddress! + i * n, yp.baseAddress! + i * n, gain: gd, bias: bd,
                                              count: n, epsilon: Double(epsilon))
                }
            }
            #expect(abs(Double(stats[2 * i]) - mean) <= 1e-5 * max(abs(mean), 1), "body \(body) row \(i) mean")
            #expect(abs(Double(stats[2 * i + 1]) - r) <= 1e-4 * r, "body \(body) row \(i) 1/σ")
            xd.withUnsafeBufferPointer { xp in
                dyd.withUnsafeBufferPointer { dyp in
                    dxRef.withUnsafeMutableBufferPointer { dxp in
                        BlockKernels.layerNormRowBackward(xp.baseAddress! + i * n, dyp.baseAddress! + i * n, dxp.baseAddress! + i * n,
                                                          gain: gd, gainGradient: &gainRef, biasGradient: &biasRef,
                                                          count: n, mean: mean, reciprocalStandardDeviation: r)
                    }
                }
            }
        }
        // n = 1 has x̂ = 0 in every row: y = β and dx = 0 exactly up to rounding of r·(x − μ).
        for k in 0..<(rows * n) {
            #expect(abs(Double(y[k]) - yRef[k]) <= 1e-4 * max(abs(yRef[k]), 1), "body \(body) y[\(k)]")
            #expect(abs(Double(dx[k]) - dxRef[k]) <= 1e-4 * max(abs(dxRef[k]), 1), "body \(body) dx[\(k)]")
        }
        for j in 0..<n {
            #expect(abs(Double(gainGradient[j]) - gainRef[j]) <= 1e-4 * max(abs(gainRef[j]), 1), "body \(body) gain gradient \(j)")
            #expect(abs(Double(biasGradient[j]) - biasRef[j]) <= 1e-4 * max(abs(biasRef[j]), 1), "body \(body) bias gradient \(j)")
        }
    }
}
