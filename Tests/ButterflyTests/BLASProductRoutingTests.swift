@testable import PixelflyCore
import Testing

/// Products whose shapes hit OpenBLAS's allocating small-matrix path (SkylakeX kernels,
/// no-transpose, m·n·k ≤ 100³, n mod 16 ∈ 1…8) are split into a ?gemm head and ?gemv tail
/// columns (`BLASProductRouting`). These tests run under whichever `OPENBLAS_CORETYPE` the
/// process was started with; `make test` starts them once per kernel family the CPU can run.
@Suite("BLAS product routing", .serialized)
struct BLASProductRoutingTests {
    static let transposes: [(Transpose, Transpose)] = [(.none, .none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)]

    /// Every column tail 0…15 (n = 1…40), against the naive Double reference, with and
    /// without accumulation. Tolerance as in `MatrixProductTests`: 4·(k+2)·u·k·max(|α|, 1).
    func checkValues<S: TensorScalar>(_: S.Type, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        for n in 1...40 {
            for (m, k) in [(1, 1), (5, 7), (16, 33), (37, 64)] {
                let a = Matrix<S>(rows: m, cols: k, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let b = Matrix<S>(rows: k, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let c0 = Matrix<S>(rows: m, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
                for (alpha, beta) in [(1.0, 0.0), (-0.5, 1.0), (2.0, 0.25)] {
                    var c = c0
                    try gemm(a, .none, b, .none, alpha: S(alpha), beta: S(beta), into: &c)
                    let reference = try NaiveReference.gemm(a, .none, b, .none, alpha: alpha, beta: beta, c: c0)
                    let error = compare(c, reference)
                    let tolerance = 4 * Double(k + 2) * unitRoundoff(S.self) * Double(k) * max(abs(alpha), 1)
                    #expect(error.maxAbs <= tolerance, "\(S.self) \(m)×\(n)×\(k) α=\(alpha) β=\(beta): \(error), tolerance \(tolerance)")
                }
            }
        }
    }

    @Test func floatProductsWithEveryColumnTail() throws { try checkValues(Float.self, seed: 21) }
    @Test func doubleProductsWithEveryColumnTail() throws { try checkValues(Double.self, seed: 22) }

    /// A column band of a wider C (ldc > n, as `parallelGemm`'s column split makes): the band is
    /// the product, the columns beside it are untouched.
    @Test func stridedColumnBandLeavesNeighboursAlone() throws {
        var rng = SeededRandom(seed: 23)
        let (m, n, k, ldc, offset) = (9, 8, 12, 13, 3)
        let a = Matrix<Float>(rows: m, cols: k, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let b = Matrix<Float>(rows: k, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let wide0 = Matrix<Float>(rows: m, cols: ldc, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var wide = wide0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                wide.withUnsafeMutableBufferPointer { pc in
                    Float.gemm(.none, .none, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k,
                               b: pb.baseAddress!, ldb: n, beta: 1, c: pc.baseAddress! + offset, ldc: ldc)
                }
            }
        }
        let product = try NaiveReference.gemm(a, .none, b, .none)
        for i in 0..<m {
            for j in 0..<ldc {
                let inBand = j >= offset && j < offset + n
                let expected = Double(wide0[i, j]) + (inBand ? product[i, j - offset] : 0)
                #expect(abs(Double(wide[i, j]) - expected) <= 1e-5, "C[\(i), \(j)] = \(wide[i, j]), expected \(expected) (band \(inBand))")
            }
        }
    }

    /// The rule itself, at the boundaries of OpenBLAS's small-matrix path.
    @Test func tailRule() {
        func tail(_ ta: Transpose = .none, _ tb: Transpose = .none, m: Int = 16, n: Int, k: Int = 64, width: Int = 16) -> Int {
            BLASProductRouting.allocatingTailColumns(ta, tb, m: m, n: n, k: k, vectorWidth: width)
        }
        #expect(tail(n: 8) == 8)
        #expect(tail(n: 24) == 8)
        #expect(tail(n: 17) == 1)
        #expect(tail(n: 16) == 0)
        #expect(tail(n: 12) == 0)
        #expect(tail(.none, .transposed, n: 8) == 0)
        #expect(tail(.transposed, .none, n: 8) == 0)
        #expect(tail(m: 125, n: 8, k: 1000) == 8)   // m·n·k = 10⁶: still on the small path
        #expect(tail(m: 126, n: 8, k: 1000) == 0)
        #expect(tail(n: 4, width: 8) == 4)          // Double: 8 per register, tails 1…4
        #expect(tail(n: 13, width: 8) == 0)
        #expect(tail(n: 9, width: 8) == 1)
    }

    /// No product of any transpose combination and column tail allocates once OpenBLAS's own
    /// buffer pool has been set up by a first call.
    @Test(arguments: [false, true])
    func smallProductsAreAllocationFree(double: Bool) throws {
        if double { try checkAllocations(Double.self) } else { try checkAllocations(Float.self) }
    }

    func checkAllocations<S: TensorScalar>(_: S.Type) throws {
        var rng = SeededRandom(seed: 24)
        for n in 1...32 {
            for (ta, tb) in Self.transposes {
                let (m, k) = (16, 48)
                let a = Matrix<S>(rows: ta == .none ? m : k, cols: ta == .none ? k : m, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let b = Matrix<S>(rows: tb == .none ? k : n, cols: tb == .none ? n : k, initializer: .uniform(low: -1, high: 1), rng: &rng)
                var c = Matrix<S>(rows: m, cols: n)
                try gemm(a, ta, b, tb, into: &c)
                let count = try countAllocations {
                    try gemm(a, ta, b, tb, into: &c)
                    try gemm(a, ta, b, tb, beta: 1, into: &c)
                }
                #expect(count == 0, "\(S.self) \(m)×\(n)×\(k) \(ta)/\(tb): \(count) allocations under \(OpenBLASRuntime.coreName)")
            }
        }
    }
}
