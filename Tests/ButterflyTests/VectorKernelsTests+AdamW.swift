import CVectorKernels
import PixelflyCore
import Testing

/// Each AdamW body of `CVectorKernels` run explicitly (the dispatching entry point takes only the
/// fastest one) on counts around every vector width, one step from non-zero moments, against
/// the same step in Double. The element after the last is a sentinel that no body may write
/// (the AVX-512 tail is a masked store).
/// (Part of the `VectorKernelsTests` suite, whose CPU checks decide which bodies run.)
extension VectorKernelsTests {
    @Test(.disabled(if: avx512Unavailable, "this CPU does not report AVX-512F with OS-enabled ZMM state, so the AVX-512 body cannot run"),
          arguments: bodyCounts)
    func adamWAVX512Body(count: Int) throws { try checkAdamWBody(Int32(PIXELFLY_BODY_AVX512), count: count) }

    @Test(.disabled(if: avx2Unavailable, "this CPU does not report AVX2 and FMA, so the AVX2 body cannot run"),
          arguments: bodyCounts)
    func adamWAVX2Body(count: Int) throws { try checkAdamWBody(Int32(PIXELFLY_BODY_AVX2), count: count) }

    @Test(arguments: bodyCounts)
    func adamWPortableBody(count: Int) throws { try checkAdamWBody(Int32(PIXELFLY_BODY_PORTABLE), count: count) }

    func checkAdamWBody(_ body: Int32, count: Int) throws {
        var rng = SeededRandom(seed: UInt64(count) &* 13 &+ UInt64(body))
        func draw(_ low: Double, _ high: Double) -> [Float] {
            Matrix<Float>(rows: 1, cols: count, initializer: .uniform(low: low, high: high), rng: &rng).storage
        }
        let sentinel: Float = 12345
        var theta = draw(-1, 1) + [sentinel], m = draw(-0.1, 0.1) + [sentinel], v = draw(0, 0.01) + [sentinel]
        let g = draw(-2, 2)
        // The constants as the Float kernel sees them, so the reference differs only by Float rounding.
        let f = { (x: Double) in Double(Float(x)) }
        let (beta1, beta2, epsilon) = (f(0.9), f(0.999), f(1e-8))
        let (decay, stepSize, inverse) = (f(1 - 1e-3 * 0.05), f(1e-3 / (1 - 0.9 * 0.9)), f(1 / (1 - 0.999 * 0.999).squareRoot()))
        let expected = (0..<count).map { i -> (Double, Double, Double) in
            let mi = beta1 * Double(m[i]) + (1 - beta1) * Double(g[i])
            let vi = beta2 * Double(v[i]) + (1 - beta2) * Double(g[i]) * Double(g[i])
            return (Double(theta[i]) * decay - stepSize * mi / (vi.squareRoot() * inverse + epsilon), mi, vi)
        }
        var constants = pixelfly_adamw_constants(beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon), decay: Float(decay),
                                                 step_size: Float(stepSize), inverse_sqrt_correction2: Float(inverse))
        pixelfly_adamw_f32_body(body, &theta, g, &m, &v, count, &constants)
        #expect(theta[count] == sentinel && m[count] == sentinel && v[count] == sentinel, "body \(body) wrote past the end")
        for i in 0..<count {
            let (t, mi, vi) = expected[i]
            // Relative to each quantity's scale (m ~ 0.1, v ~ 0.01, θ ~ 1), so values near 0 get an absolute floor.
            #expect(abs(Double(m[i]) - mi) <= 1e-6 * max(abs(mi), 0.01), "body \(body) m[\(i)]")
            #expect(abs(Double(v[i]) - vi) <= 1e-6 * max(abs(vi), 1e-4), "body \(body) v[\(i)]")
            #expect(abs(Double(theta[i]) - t) <= 1e-6 * max(abs(t), 0.1), "body \(body) θ[\(i)]: \(theta[i]) vs \(t)")
        }
    }
}
