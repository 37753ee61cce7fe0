import CVectorKernels
import PixelflyCore
import Testing

/// `pixelfly_strip24_f32`, the hand-written AVX2 kernel of 24-row strips, against a Double
/// reference of its contract: C (24 × n, ldc) = β·C + Σ_i A_i (24 × k) · B_i (k × n, ldb), with
/// byte offsets per product and A's columns 24 or 48 apart. Column counts with and without a remainder of the four-column
/// step, one and several products, β = 0 and 1, and no offsets (the rank-r term's call).
@Suite("Hand-written 24-row strip kernel")
struct Strip24KernelTests {
    @Test(arguments: [1, 3, 4, 7, 64], [false, true])
    func matchesTheDoubleReference(columns n: Int, accumulate: Bool) {
        var rng = SeededRandom(seed: UInt64(n) * 2 + (accumulate ? 1 : 0))
        let (k, ldb, ldc, count) = (48, 200, 40, 3)
        // A_i 24 × k column-major, one after another with a gap; B_i at columns 5, 60, 130 of a
        // row-major n × ldb array, read as k × n column-major (ldb apart).
        let aStride = 24 * k + 8
        let a = (0..<(count * aStride)).map { _ in Float(rng.uniform(-1, 1)) }
        let b = (0..<(n * ldb)).map { _ in Float(rng.uniform(-1, 1)) }
        let aOffsets: [UInt64] = (0..<count).map { UInt64($0 * aStride * 4) }
        let bOffsets: [UInt64] = [5, 60, 130].map { UInt64($0 * 4) }
        var c = (0..<(n * ldc)).map { _ in Float(rng.uniform(-1, 1)) }
        var expected = c.map { accumulate ? Double($0) : 0 }
        for t in 0..<n {
            for r in 0..<24 {
                var sum = 0.0
                for i in 0..<count {
                    for p in 0..<k {
                        sum += Double(a[Int(aOffsets[i]) / 4 + p * 24 + r]) * Double(b[Int(bOffsets[i]) / 4 + t * ldb + p])
                    }
                }
                expected[t * ldc + r] += sum
            }
        }
        let before = c
        let ran = pixelfly_strip24_f32(a, b, &c, Int32(n), Int32(k), 24, Int32(ldb), Int32(ldc), UInt64(count), aOffsets, bOffsets,
                                       accumulate ? 1 : 0)
        guard pixelfly_vector_kernels_use_avx2() != 0 else {
            #expect(ran == 0 && c == before, "without AVX2 the kernel declines and leaves C alone")
            return
        }
        #expect(ran == 1)
        var worst = 0.0
        for t in 0..<n {
            for r in 0..<ldc {
                // Rows 24..<ldc of each column are not the strip's: untouched.
                let value = r < 24 ? expected[t * ldc + r] : Double(before[t * ldc + r])
                worst = max(worst, abs(Double(c[t * ldc + r]) - value))
            }
        }
        #expect(worst < 1e-4, "n \(n), β \(accumulate ? 1 : 0): worst difference \(worst)")

        // One product without offsets (the rank-r term, a weight-gradient slice): A and B from
        // their starts, A's columns 48 apart (the top half of a 48-row block).
        var single = before
        _ = pixelfly_strip24_f32(a, b, &single, Int32(n), Int32(k), 48, Int32(ldb), Int32(ldc), 1, nil, nil, 1)
        var singleWorst = 0.0
        for t in 0..<n {
            for r in 0..<24 {
                var sum = Double(before[t * ldc + r])
                for p in 0..<k { sum += Double(a[p * 48 + r]) * Double(b[t * ldb + p]) }
                singleWorst = max(singleWorst, abs(Double(single[t * ldc + r]) - sum))
            }
        }
        #expect(singleWorst < 1e-4, "n \(n), no offsets: worst difference \(singleWorst)")
    }
}
