import LowRank
import PixelflyCore
import Testing

@Suite("SVD through LAPACK gesdd")
struct LowRankSVDTests {
    /// max |QᵀQ − I| for the columns of `q` (pass `transposed: true` to test rows).
    func orthonormalityError<S: TensorScalar>(_ q: Matrix<S>, rows: Bool = false) throws -> Double {
        let gram = try NaiveReference.gemm(q, rows ? .none : .transposed, q, rows ? .transposed : .none)
        var worst = 0.0
        for i in 0..<gram.rows { for j in 0..<gram.cols { worst = max(worst, abs(gram[i, j] - (i == j ? 1 : 0))) } }
        return worst
    }

    /// Reconstruction error relative to max|A|, orthonormality, order, on wide, tall, square,
    /// single-row and single-column shapes. Tolerances: Double 1e-12 (about 4500 ε for these
    /// sizes ≤ 70), Float 1e-5 relative (about 80 ε).
    func decomposes<S: TensorScalar>(_: S.Type, tolerance: Double, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var shapes = [(1, 1), (1, 9), (9, 1), (7, 7), (5, 12), (12, 5), (64, 17)]
        for _ in 0..<6 { shapes.append((1 + rng.index(below: 70), 1 + rng.index(below: 70))) }
        for (m, n) in shapes {
            let a = Matrix<S>(rows: m, cols: n, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
            let svd = try SingularValueDecomposition(a)
            let k = min(m, n)
            #expect(svd.u.rows == m && svd.u.cols == k && svd.vt.rows == k && svd.vt.cols == n && svd.count == k)
            var sigma = Matrix<S>(rows: k, cols: k)
            for i in 0..<k { sigma[i, i] = svd.singularValues[i] }
            let us = try NaiveReference.gemm(svd.u, .none, sigma, .none)
            let reconstruction = try NaiveReference.gemm(us, .none, svd.vt.converted(to: Double.self), .none)
            let error = compare(a, reconstruction)
            #expect(error.maxRel <= tolerance, "\(S.self) \(m)×\(n): \(error)")
            let viaMethod = compare(try svd.reconstruction(), a.converted(to: Double.self))
            #expect(viaMethod.maxRel <= tolerance, "\(S.self) \(m)×\(n) reconstruction(): \(viaMethod)")
            #expect(try orthonormalityError(svd.u) <= tolerance, "\(S.self) \(m)×\(n) UᵀU")
            #expect(try orthonormalityError(svd.vt, rows: true) <= tolerance, "\(S.self) \(m)×\(n) VᵀV")
            #expect(zip(svd.singularValues, svd.singularValues.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(svd.singularValues.allSatisfy { $0 >= 0 })
        }
    }

    @Test func doubleDecomposes() throws { try decomposes(Double.self, tolerance: 1e-12, seed: 51) }
    @Test func floatDecomposes() throws { try decomposes(Float.self, tolerance: 1e-5, seed: 52) }

    /// A permuted, signed diagonal: the singular values are the sorted absolute diagonal.
    @Test func diagonalMatrixHasItsAbsoluteDiagonalAsSingularValues() throws {
        let diagonal: [Double] = [3, -7, 0.5, 2, -1e-3]
        var a = Matrix<Double>(rows: 5, cols: 8)
        let columns = [6, 0, 3, 7, 2]
        for (i, d) in diagonal.enumerated() { a[i, columns[i]] = d }
        let svd = try SingularValueDecomposition(a)
        let expected = diagonal.map(abs).sorted(by: >)
        for (s, e) in zip(svd.singularValues, expected) { #expect(abs(s - e) <= 1e-14 * 7, "σ \(s) vs \(e)") }
    }

    /// A = Q₁·diag(σ)·Q₂ᵀ built from orthonormal factors of other SVDs: the decomposition must
    /// return exactly those σ, followed by zeros beyond the constructed rank k.
    @Test func constructedRankKMatrixHasThoseSingularValues() throws {
        var rng = SeededRandom(seed: 53)
        let (m, n, k) = (30, 22, 4)
        let q1 = try SingularValueDecomposition(Matrix<Double>(rows: m, cols: k, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)).u
        let q2 = try SingularValueDecomposition(Matrix<Double>(rows: n, cols: k, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)).u
        let sigma: [Double] = [10, 4, 2.5, 0.125]
        var scaled = q1
        for i in 0..<m { for j in 0..<k { scaled[i, j] *= sigma[j] } }
        let a = try matmul(scaled, .none, q2, .transposed)
        let svd = try SingularValueDecomposition(a)
        for j in 0..<k { #expect(abs(svd.singularValues[j] - sigma[j]) <= 1e-13, "σ\(j) = \(svd.singularValues[j]), expected \(sigma[j])") }
        for j in k..<min(m, n) { #expect(svd.singularValues[j] <= 1e-13, "σ\(j) = \(svd.singularValues[j]) should vanish") }
        // Its best rank-k approximation is itself.
        let best = try bestRankApproximation(a, rank: k)
        #expect(try best.factors.product().maxAbsDifference(a) <= 1e-13)
        #expect(best.error <= 1e-12)
    }

    @Test func emptyMatrixHasAnEmptyDecomposition() throws {
        let svd = try SingularValueDecomposition(Matrix<Float>(rows: 0, cols: 5))
        #expect(svd.count == 0 && svd.u.rows == 0 && svd.vt.cols == 5)
    }

    @Test func nonFiniteInputThrows() throws {
        var a = Matrix<Double>(rows: 3, cols: 3, repeating: 1)
        a[1, 2] = .nan
        #expect(throws: LAPACKError.self) { try SingularValueDecomposition(a) }
        a[1, 2] = .infinity
        #expect(throws: LAPACKError.self) { try SingularValueDecomposition(a) }
    }

    /// Eckart–Young: ‖A − A_r‖_F = √(Σ_{i ≥ r} σ_i²), for every r, and A_r has rank r.
    func bestRankErrorIsTheDiscardedEnergy<S: TensorScalar>(_: S.Type, tolerance: Double, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let a = Matrix<S>(rows: 24, cols: 15, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let full = try SingularValueDecomposition(a)
        for rank in 1...15 {
            let best = try bestRankApproximation(a, rank: rank)
            #expect(best.factors.left.rows == 24 && best.factors.left.cols == rank)
            #expect(best.factors.right.rows == rank && best.factors.right.cols == 15)
            let residual = try NaiveReference.gemm(best.factors.left, .none, best.factors.right, .none)
            var squared = 0.0
            for i in 0..<24 { for j in 0..<15 { squared += (Double(a[i, j]) - residual[i, j]) * (Double(a[i, j]) - residual[i, j]) } }
            let discarded = full.singularValues.dropFirst(rank).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(squared.squareRoot() - discarded) <= tolerance * a.frobeniusNorm, "\(S.self) rank \(rank)")
            #expect(abs(best.error - discarded) <= tolerance * a.frobeniusNorm)
            // The approximation's own spectrum is the leading r singular values, then zeros.
            let spectrum = try SingularValueDecomposition(try best.factors.product()).singularValues
            for j in 0..<rank { #expect(abs(Double(spectrum[j]) - Double(full.singularValues[j])) <= tolerance * a.frobeniusNorm) }
            for j in rank..<15 { #expect(Double(spectrum[j]) <= tolerance * a.frobeniusNorm) }
        }
    }

    @Test func doubleBestRankError() throws { try bestRankErrorIsTheDiscardedEnergy(Double.self, tolerance: 1e-12, seed: 54) }
    @Test func floatBestRankError() throws { try bestRankErrorIsTheDiscardedEnergy(Float.self, tolerance: 1e-5, seed: 55) }

    @Test func invalidRankThrows() throws {
        let a = Matrix<Double>(rows: 6, cols: 4, repeating: 1)
        for rank in [0, 5, -2] {
            do {
                _ = try bestRankApproximation(a, rank: rank)
                Issue.record("rank \(rank) did not throw")
            } catch let error as ShapeError {
                #expect(error.message.contains("1...4"), "\(error)")
            }
        }
    }
}
