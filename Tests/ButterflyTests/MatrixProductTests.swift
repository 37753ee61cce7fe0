import PixelflyCore
import Testing

@Suite("Matrix products against the naive Double reference")
struct MatrixProductTests {
    static let transposes: [(Transpose, Transpose)] = [(.none, .none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)]

    /// Random shapes including 1×1, odd and prime sizes, in every transpose combination, with
    /// and without accumulation. Tolerance: k·u·max|ref| with a safety factor of 4, where u is
    /// the unit roundoff and k the reduction length (the standard dot-product error bound).
    func check<S: TensorScalar>(_: S.Type, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var shapes = [(1, 1, 1), (1, 7, 1), (3, 1, 5), (17, 13, 11), (64, 33, 1), (1, 129, 65)]
        for _ in 0..<12 { shapes.append((1 + rng.index(below: 70), 1 + rng.index(below: 70), 1 + rng.index(below: 70))) }
        for (m, n, k) in shapes {
            for (ta, tb) in Self.transposes {
                let a = Matrix<S>(rows: ta == .none ? m : k, cols: ta == .none ? k : m, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let b = Matrix<S>(rows: tb == .none ? k : n, cols: tb == .none ? n : k, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let c0 = Matrix<S>(rows: m, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
                for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                    var c = c0
                    try gemm(a, ta, b, tb, alpha: S(alpha), beta: S(beta), into: &c)
                    let reference = try NaiveReference.gemm(a, ta, b, tb, alpha: alpha, beta: beta, c: c0)
                    let error = compare(c, reference)
                    let tolerance = 4 * Double(k + 2) * unitRoundoff(S.self) * max(abs(alpha), 1) * Double(k)
                    #expect(error.maxAbs <= tolerance,
                            "\(S.self) \(m)×\(n)×\(k) \(ta)/\(tb) α=\(alpha) β=\(beta): \(error), tolerance \(tolerance)")
                }
            }
        }
    }

    @Test func floatProducts() throws { try check(Float.self, seed: 11) }
    @Test func doubleProducts() throws { try check(Double.self, seed: 12) }

    @Test func allocatingMatmulMatchesGemm() throws {
        var rng = SeededRandom(seed: 3)
        let a = Matrix<Double>(rows: 5, cols: 3, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let b = Matrix<Double>(rows: 5, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let c = try matmul(a, .transposed, b)
        let reference = try NaiveReference.gemm(a, .transposed, b, .none)
        #expect(compare(c, reference).maxAbs < 1e-13)
        #expect(c.rows == 3 && c.cols == 4)
    }

    @Test func innerDimensionMismatchThrows() {
        let a = Matrix<Float>(rows: 2, cols: 3)
        let b = Matrix<Float>(rows: 4, cols: 5)
        var c = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) { try gemm(a, .none, b, .none, into: &c) }
        #expect(throws: ShapeError.self) { try matmul(a, .transposed, b, .transposed) }
        #expect(throws: Never.self) { try gemm(a, .none, Matrix<Float>(rows: 5, cols: 3), .transposed, into: &c) }
    }

    @Test func accumulatingIntoWrongShapeThrows() {
        let a = Matrix<Float>(rows: 2, cols: 3)
        let b = Matrix<Float>(rows: 3, cols: 4)
        var c = Matrix<Float>(rows: 4, cols: 2)
        #expect(throws: ShapeError.self) { try gemm(a, .none, b, .none, beta: 1, into: &c) }
    }

    @Test func emptyReductionGivesBetaTimesC() throws {
        let a = Matrix<Float>(rows: 2, cols: 0)
        let b = Matrix<Float>(rows: 0, cols: 2)
        var c = Matrix<Float>(rows: 2, cols: 2, repeating: 3)
        try gemm(a, .none, b, .none, beta: 2, into: &c)
        #expect(c.storage == [6, 6, 6, 6])
    }

    @Test func matrixInitRejectsWrongElementCount() {
        #expect(throws: ShapeError.self) { try Matrix<Float>(rows: 2, cols: 2, storage: [1, 2, 3]) }
        #expect(throws: ShapeError.self) { try Matrix<Float>([[1, 2], [3]]) }
    }
}
