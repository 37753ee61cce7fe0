import PixelflyCore

/// How `bestRankApproximation` finds the leading r singular triplets.
public enum TruncatedSVDMethod: Sendable, Equatable {
    /// The full thin SVD (LAPACK gesdd), then keep r: exact, O(m·n·min(m, n)).
    case exact
    /// Randomized range finder with power iterations (Halko, Martinsson & Tropp 2011,
    /// Algorithms 4.4 and 5.1): k = r + oversampling Gaussian probes, Q = orth(A·Ω), then
    /// `powerIterations` rounds of Q ← orth(A·orth(Aᵀ·Q)), then the exact SVD of the small
    /// k×n matrix QᵀA. Cost O(m·n·k·(2q + 2)) in GEMMs. Exact when rank(A) ≤ k; otherwise the
    /// error exceeds Eckart–Young's by a factor that shrinks like (σ_{k}/σ_{r})^(2q+1).
    case randomized(oversampling: Int = 10, powerIterations: Int = 2, seed: UInt64 = 0)
}

extension SingularValueDecomposition {
    /// The leading triplets of A by the randomized range finder (see `TruncatedSVDMethod`):
    /// U (m×k), σ (k), Vᵀ (k×n) with k = min(rank + oversampling, m, n).
    static func randomized(_ a: Matrix<Scalar>, rank: Int, oversampling: Int, powerIterations: Int,
                           seed: UInt64) throws -> SingularValueDecomposition<Scalar> {
        guard oversampling >= 0, powerIterations >= 0 else {
            throw ShapeError("TruncatedSVDMethod.randomized", "oversampling \(oversampling) and powerIterations \(powerIterations) must be non-negative")
        }
        let k = min(rank + oversampling, a.rows, a.cols)
        var rng = SeededRandom(seed: seed)
        let probes = Matrix<Scalar>(rows: a.cols, cols: k, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var basis = try orthonormalColumns(matmul(a, .none, probes, .none))
        for _ in 0..<powerIterations {
            // Re-orthonormalising between products keeps the small singular directions from
            // drowning in rounding (Halko et al. Algorithm 4.4).
            let rowBasis = try orthonormalColumns(matmul(a, .transposed, basis, .none))
            basis = try orthonormalColumns(matmul(a, .none, rowBasis, .none))
        }
        let small = try SingularValueDecomposition(try matmul(basis, .transposed, a, .none))  // k×n
        return SingularValueDecomposition(u: try matmul(basis, .none, small.u, .none),
                                          singularValues: small.singularValues, vt: small.vt)
    }

    /// An orthonormal basis of the column space of a tall m×k matrix (its left singular vectors).
    private static func orthonormalColumns(_ y: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try SingularValueDecomposition(y).u
    }
}
