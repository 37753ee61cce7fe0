import LowRank
import PixelflyCore
import RealModule
import Testing

@Suite("Sparse + low-rank projection")
struct LowRankProjectionTests {
    /// A random support of roughly the given density.
    func randomSupport(rows: Int, cols: Int, density: Double, rng: inout SeededRandom) throws -> ElementSupport {
        try ElementSupport(rows: rows, cols: cols) { _, _ in rng.nextUnit() < density }
    }

    /// A block-diagonal support of b×b blocks (the shape of a flat butterfly's super-blocks).
    func blockDiagonalSupport(rows: Int, cols: Int, block: Int) throws -> ElementSupport {
        try ElementSupport(rows: rows, cols: cols) { i, j in i / block == j / block }
    }

    /// Residuals never increase. Slack: 64·ε·‖W‖ per step for the rounding of the SVD and the
    /// element-wise differences (the exact-arithmetic sequence is non-increasing).
    func expectMonotone<S: TensorScalar>(_ projection: SparsePlusLowRankProjection<S>, _ label: String) {
        let slack = 64 * Double(S.ulpOfOne) * projection.inputNorm
        for (previous, next) in zip(projection.residualNorms, projection.residualNorms.dropFirst()) {
            #expect(next <= previous + slack, "\(label): residual rose from \(previous) to \(next)")
        }
    }

    /// Checks the invariants of any result against W: S vanishes off the support, L has the
    /// requested rank, and the last reported residual is ‖W − S − L‖_F recomputed in Double.
    func expectConsistent<S: TensorScalar>(_ projection: SparsePlusLowRankProjection<S>, _ w: Matrix<S>,
                                           _ support: ElementSupport, rank: Int, _ label: String) throws {
        for i in 0..<w.rows { for j in 0..<w.cols where !support[i, j] {
            #expect(projection.sparse[i, j] == 0, "\(label): S(\(i), \(j)) off the support")
        } }
        #expect(projection.lowRank.rank == rank)
        let l = try NaiveReference.gemm(projection.lowRank.left, .none, projection.lowRank.right, .none)
        var squared = 0.0
        for i in 0..<w.rows { for j in 0..<w.cols {
            let r = Double(w[i, j]) - Double(projection.sparse[i, j]) - l[i, j]
            squared += r * r
        } }
        let reported = projection.residualNorms.last!
        // Tolerance: the reported value rounds W − S and (W − S) − L in S; 16·ε·‖W‖ covers it.
        #expect(abs(squared.squareRoot() - reported) <= 16 * Double(S.ulpOfOne) * projection.inputNorm,
                "\(label): reported residual \(reported), recomputed \(squared.squareRoot())")
    }

    /// W = S₀ + U₀V₀ exactly: the projection recovers a decomposition with residual ≈ 0
    /// (relative 1e-9 in Double; the iteration converges linearly, so this only needs more steps).
    @Test(arguments: ["random", "block-diagonal"])
    func exactWhenTheInputIsSparsePlusLowRank(pattern: String) throws {
        var rng = SeededRandom(seed: 71)
        let (m, n, rank) = (40, 48, 3)
        let support = pattern == "random"
            ? try randomSupport(rows: m, cols: n, density: 0.15, rng: &rng)
            : try blockDiagonalSupport(rows: m, cols: n, block: 8)
        let s0 = try support.restrict(Matrix<Double>(rows: m, cols: n, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng))
        let u0 = Matrix<Double>(rows: m, cols: rank, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let v0 = Matrix<Double>(rows: rank, cols: n, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var w = try matmul(u0, .none, v0, .none)
        for i in 0..<m { for j in 0..<n { w[i, j] += s0[i, j] } }
        let projection = try projectOntoSparsePlusLowRank(w, support: support, rank: rank, maxIterations: 2000, tolerance: 1e-10)
        #expect(projection.stopReason == .residualBelowTolerance, "\(pattern): stopped by \(projection.stopReason) after \(projection.iterations) at \(projection.relativeResidual)")
        #expect(projection.relativeResidual <= 1e-9, "\(pattern): relative residual \(projection.relativeResidual)")
        expectMonotone(projection, pattern)
        try expectConsistent(projection, w, support, rank: rank, pattern)
    }

    /// A generic dense matrix (not sparse + low-rank): the residual decreases monotonically,
    /// stays strictly positive, and beats both single-structure baselines (S alone, L alone).
    func decreasesOnAGenericMatrix<S: TensorScalar>(_: S.Type, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let (m, n, rank) = (48, 32, 4)
        let w = Matrix<S>(rows: m, cols: n, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let support = try randomSupport(rows: m, cols: n, density: 0.2, rng: &rng)
        let projection = try projectOntoSparsePlusLowRank(w, support: support, rank: rank, maxIterations: 30, tolerance: 0)
        #expect(projection.iterations == 30 && projection.stopReason == .iterationLimit)
        expectMonotone(projection, "\(S.self)")
        try expectConsistent(projection, w, support, rank: rank, "\(S.self)")
        let lowRankOnly = try bestRankApproximation(w, rank: rank).error
        var sparseOnly = 0.0
        for i in 0..<m { for j in 0..<n where !support[i, j] { sparseOnly += Double(w[i, j]) * Double(w[i, j]) } }
        let final = projection.residualNorms.last!
        #expect(final > 0.1 * projection.inputNorm, "a random Gaussian matrix is far from sparse + rank 4")
        #expect(final < lowRankOnly && final < sparseOnly.squareRoot(),
                "\(S.self): S+L residual \(final), L only \(lowRankOnly), S only \(sparseOnly.squareRoot())")
        #expect(projection.residualNorms.first! > final, "iterating must improve on the first step")
    }

    @Test func doubleResidualDecreases() throws { try decreasesOnAGenericMatrix(Double.self, seed: 72) }
    @Test func floatResidualDecreases() throws { try decreasesOnAGenericMatrix(Float.self, seed: 73) }

    /// Empty support: S = 0 and L is the best rank-r approximation (Eckart–Young error), after
    /// which the second iteration cannot improve and the loop stops as stalled.
    /// Full support: S = W − L absorbs everything, residual 0 at once.
    @Test func degenerateSupports() throws {
        var rng = SeededRandom(seed: 74)
        let w = Matrix<Double>(rows: 10, cols: 14, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let empty = try ElementSupport(rows: 10, cols: 14) { _, _ in false }
        let none = try projectOntoSparsePlusLowRank(w, support: empty, rank: 3)
        #expect(none.stopReason == .stalled && none.iterations == 2)
        #expect(none.sparse.storage.allSatisfy { $0 == 0 })
        #expect(abs(none.residualNorms.last! - (try bestRankApproximation(w, rank: 3).error)) < 1e-12)
        let full = try ElementSupport(rows: 10, cols: 14, mask: Array(repeating: true, count: 140))
        let all = try projectOntoSparsePlusLowRank(w, support: full, rank: 3)
        #expect(all.stopReason == .residualBelowTolerance && all.iterations == 1 && all.relativeResidual < 1e-15)
    }

    @Test func invalidInputThrows() throws {
        let w = Matrix<Double>(rows: 6, cols: 5, repeating: 1)
        let support = try ElementSupport(rows: 6, cols: 5) { i, j in i == j }
        #expect(throws: ShapeError.self) { try projectOntoSparsePlusLowRank(w, support: support, rank: 0) }
        #expect(throws: ShapeError.self) { try projectOntoSparsePlusLowRank(w, support: support, rank: 6) }
        #expect(throws: ShapeError.self) { try projectOntoSparsePlusLowRank(w, support: support, rank: 2, maxIterations: 0) }
        let wrongShape = try ElementSupport(rows: 5, cols: 6) { _, _ in true }
        #expect(throws: ShapeError.self) { try projectOntoSparsePlusLowRank(w, support: wrongShape, rank: 2) }
        #expect(throws: ShapeError.self) { try ElementSupport(rows: 2, cols: 3, mask: [true, false]) }
        var bad = w
        bad[0, 0] = .nan
        #expect(throws: LAPACKError.self) { try projectOntoSparsePlusLowRank(bad, support: support, rank: 2) }
    }
}

@Suite("Randomized truncated SVD")
struct LowRankRandomizedSVDTests {
    /// A = Q₁·diag(σ)·Q₂ᵀ with orthonormal Q₁ (m×k), Q₂ (n×k).
    func constructed(m: Int, n: Int, sigma: [Double], seed: UInt64) throws -> Matrix<Double> {
        var rng = SeededRandom(seed: seed)
        let q1 = try SingularValueDecomposition(Matrix<Double>(rows: m, cols: sigma.count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)).u
        let q2 = try SingularValueDecomposition(Matrix<Double>(rows: n, cols: sigma.count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)).u
        var scaled = q1
        for i in 0..<m { for j in 0..<sigma.count { scaled[i, j] *= sigma[j] } }
        return try matmul(scaled, .none, q2, .transposed)
    }

    func recomputedError(_ a: Matrix<Double>, _ approximation: RankApproximation<Double>) throws -> Double {
        let product = try approximation.factors.product()
        return zip(a.storage, product.storage).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }

    /// rank(A) ≤ r: the randomized range finder captures the whole range, so it is exact.
    @Test func exactOnAMatrixOfLowRank() throws {
        let a = try constructed(m: 70, n: 50, sigma: [5, 3, 1, 0.5], seed: 81)
        let approximation = try bestRankApproximation(a, rank: 4, method: .randomized())
        #expect(try recomputedError(a, approximation) <= 1e-12 * a.frobeniusNorm)
        for (s, e) in zip(approximation.singularValues, [5.0, 3, 1, 0.5]) { #expect(abs(s - e) <= 1e-12) }
    }

    /// Decaying spectrum σ_i = 0.7^i: with 2 power iterations the error is Eckart–Young's to
    /// within 1e-6 relative, and the reported error is the recomputed ‖A − left·right‖_F.
    /// Flat spectrum (Gaussian, the hard case): within 5% of Eckart–Young.
    @Test func closeToEckartYoung() throws {
        let decaying = try constructed(m: 80, n: 60, sigma: (0..<60).map { Double.pow(0.7, Double($0)) }, seed: 82)
        var rng = SeededRandom(seed: 83)
        let gaussian = Matrix<Double>(rows: 80, cols: 60, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let cases: [(String, Matrix<Double>, Double)] = [("decaying", decaying, 1 + 1e-6), ("gaussian", gaussian, 1.05)]
        for (name, a, factor) in cases {
            let exact = try bestRankApproximation(a, rank: 8)
            let randomized = try bestRankApproximation(a, rank: 8, method: .randomized(oversampling: 10, powerIterations: 2, seed: 1))
            let error = try recomputedError(a, randomized)
            #expect(error >= exact.error * (1 - 1e-12), "\(name): nothing beats Eckart–Young")
            #expect(error <= factor * exact.error, "\(name): randomized \(error), exact \(exact.error)")
            #expect(abs(randomized.error - error) <= 1e-9 * a.frobeniusNorm, "\(name): reported \(randomized.error), recomputed \(error)")
        }
    }

    /// The sparse + low-rank projection with randomized L steps still recovers a planted W.
    @Test func projectionRecoversAPlantedMatrix() throws {
        var rng = SeededRandom(seed: 84)
        let support = try ElementSupport(rows: 48, cols: 64) { i, j in i / 16 == j / 16 }
        let s0 = try support.restrict(Matrix<Double>(rows: 48, cols: 64, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng))
        let l0 = try matmul(Matrix<Double>(rows: 48, cols: 3, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), .none,
                            Matrix<Double>(rows: 3, cols: 64, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), .none)
        let w = try Matrix(rows: 48, cols: 64, storage: zip(s0.storage, l0.storage).map(+))
        let projection = try projectOntoSparsePlusLowRank(w, support: support, rank: 3, maxIterations: 2000, tolerance: 1e-10,
                                                          method: .randomized())
        #expect(projection.relativeResidual <= 1e-9, "stopped by \(projection.stopReason) after \(projection.iterations) at \(projection.relativeResidual)")
    }

    @Test func negativeSettingsThrow() throws {
        let a = Matrix<Double>(rows: 5, cols: 5, repeating: 1)
        #expect(throws: ShapeError.self) { try bestRankApproximation(a, rank: 2, method: .randomized(oversampling: -1)) }
        #expect(throws: ShapeError.self) { try bestRankApproximation(a, rank: 2, method: .randomized(powerIterations: -1)) }
    }
}
