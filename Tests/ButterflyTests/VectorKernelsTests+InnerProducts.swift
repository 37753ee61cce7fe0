import CVectorKernels
import PixelflyCore
import Testing

/// Each body of `pixelfly_inner_products_f32` run explicitly, C += A·Bᵀ with the row sums of A,
/// against the same sums in Double. The shapes cover blocks cut by the edge of C (m, n not
/// multiples of 4 or 2), k with a tail past every vector width, padded rows (ld > k), and no
/// row sums (NULL); with n = 0 there is no C to write, but the row sums still accumulate. C and the sums start non-zero (the kernel adds), and the padding of C and a
/// sentinel after the sums must stay untouched.
/// (Part of the `VectorKernelsTests` suite, whose CPU checks decide which bodies run.)
extension VectorKernelsTests {
    /// (m, n, k, padding of every row, with row sums).
    static let innerProductShapes: [(Int, Int, Int, Int, Bool)] = [
        (16, 32, 768, 0, true), (32, 16, 768, 0, true), (1, 1, 1, 0, true), (5, 3, 17, 3, true),
        (7, 9, 33, 1, false), (4, 4, 16, 0, true), (3, 5, 8, 5, false), (6, 2, 100, 0, true), (3, 0, 20, 0, true),
    ]

    @Test(.disabled(if: avx512Unavailable, "this CPU does not report AVX-512F with OS-enabled ZMM state, so the AVX-512 body cannot run"),
          arguments: innerProductShapes)
    func innerProductsAVX512Body(shape: (Int, Int, Int, Int, Bool)) {
        checkInnerProductsBody(Int32(PIXELFLY_BODY_AVX512), shape)
    }

    @Test(.disabled(if: avx2Unavailable, "this CPU does not report AVX2 and FMA, so the AVX2 body cannot run"),
          arguments: innerProductShapes)
    func innerProductsAVX2Body(shape: (Int, Int, Int, Int, Bool)) { checkInnerProductsBody(Int32(PIXELFLY_BODY_AVX2), shape) }

    @Test(arguments: innerProductShapes)
    func innerProductsPortableBody(shape: (Int, Int, Int, Int, Bool)) {
        checkInnerProductsBody(Int32(PIXELFLY_BODY_PORTABLE), shape)
    }

    func checkInnerProductsBody(_ body: Int32, _ shape: (Int, Int, Int, Int, Bool)) {
        let (m, n, k, padding, withSums) = shape
        var rng = SeededRandom(seed: UInt64(m * 1000 + n * 10 + k) &+ UInt64(body))
        func draw(_ rows: Int, _ cols: Int) -> [Float] {
            Matrix<Float>(rows: rows, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng).storage
        }
        let (lda, ldb, ldc) = (k + padding, k + 2 * padding, n + padding)
        let a = draw(m, lda), b = draw(n, ldb)
        let sentinel: Float = 12345
        var c = draw(m, ldc), sums = draw(1, m) + [sentinel]
        let (c0, sums0) = (c, sums)
        if withSums {
            pixelfly_inner_products_f32_body(body, a, lda, b, ldb, &c, ldc, m, n, k, &sums)
        } else {
            pixelfly_inner_products_f32_body(body, a, lda, b, ldb, &c, ldc, m, n, k, nil)
        }
        for i in 0..<m {
            for j in 0..<ldc {
                guard j < n else {
                    #expect(c[i * ldc + j] == c0[i * ldc + j], "body \(body) wrote C's padding at (\(i), \(j))")
                    continue
                }
                var expected = Double(c0[i * ldc + j]), scale = abs(expected)
                for p in 0..<k {
                    let term = Double(a[i * lda + p]) * Double(b[j * ldb + p])
                    expected += term
                    scale += abs(term)
                }
                #expect(abs(Double(c[i * ldc + j]) - expected) <= 1e-6 * scale, "body \(body) C[\(i), \(j)] \(c[i * ldc + j]) vs \(expected)")
            }
            let rowSum = (0..<k).reduce(Double(sums0[i])) { $0 + Double(a[i * lda + $1]) }
            let rowScale = (0..<k).reduce(abs(Double(sums0[i]))) { $0 + abs(Double(a[i * lda + $1])) }
            let expected = withSums ? rowSum : Double(sums0[i])
            #expect(abs(Double(sums[i]) - expected) <= 1e-6 * rowScale, "body \(body) row sum \(i)")
        }
        #expect(sums[m] == sentinel, "body \(body) wrote past the row sums")
    }
}
