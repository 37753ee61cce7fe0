import PixelflyCore

/// A rank-r matrix held as two factors, `left · right`, with left m×r and right r×n.
public struct LowRankFactors<Scalar: TensorScalar>: Sendable {
    /// m×r.
    public var left: Matrix<Scalar>
    /// r×n.
    public var right: Matrix<Scalar>

    public init(left: Matrix<Scalar>, right: Matrix<Scalar>) throws {
        guard left.cols == right.rows else {
            throw ShapeError("LowRankFactors.init", "left is \(left.rows)×\(left.cols) but right is \(right.rows)×\(right.cols); inner dimensions (the rank) must agree")
        }
        self.left = left
        self.right = right
    }

    public var rank: Int { left.cols }

    /// left·right, m×n.
    public func product() throws -> Matrix<Scalar> { try matmul(left, .none, right, .none) }
}

/// The best rank-r approximation of a dense matrix and what it leaves out.
public struct RankApproximation<Scalar: TensorScalar>: Sendable {
    /// Balanced factors: left = U_r·diag(√σ), right = diag(√σ)·V_rᵀ (both carry √σ, so
    /// neither factor dominates the other's gradient scale when trained).
    public let factors: LowRankFactors<Scalar>
    /// The input's singular values, descending: all min(m, n) of them for `.exact`, the
    /// leading r + oversampling (estimates) for `.randomized`.
    public let singularValues: [Scalar]
    /// ‖A − left·right‖²_F, in Double. `.exact`: Σ_{i ≥ r} σ_i² (Eckart–Young). `.randomized`:
    /// ‖A‖²_F − Σ_{i<r} σ̃_i², which is exact for its factors because A − A_r splits into the
    /// orthogonal parts (I − QQᵀ)A and Q(B − B_r), B = QᵀA.
    public let discardedEnergy: Double
    /// ‖A‖²_F.
    public let totalEnergy: Double

    /// ‖A − left·right‖_F.
    public var error: Double { discardedEnergy.squareRoot() }

    /// ‖A_r‖²_F / ‖A‖²_F: the energy kept (1 for A = 0).
    public var energyFraction: Double { totalEnergy == 0 ? 1 : 1 - discardedEnergy / totalEnergy }
}

/// Eckart–Young: among all matrices of rank ≤ r, A_r = U_r·Σ_r·V_rᵀ (the leading r singular
/// triplets) minimises both ‖A − X‖_F and ‖A − X‖₂.
///
/// `.exact` computes it; `.randomized` approximates it much faster for r ≪ min(m, n).
///
/// Throws `ShapeError` unless 1 ≤ rank ≤ min(m, n), and `LAPACKError` if the SVD fails.
@_specialize(exported: true, where Scalar == Float)
@_specialize(exported: true, where Scalar == Double)
public func bestRankApproximation<Scalar: TensorScalar>(
    _ dense: Matrix<Scalar>, rank: Int, method: TruncatedSVDMethod = .exact
) throws -> RankApproximation<Scalar> {
    let maximum = min(dense.rows, dense.cols)
    guard rank >= 1, rank <= maximum else {
        throw ShapeError("bestRankApproximation", "rank \(rank) is invalid for a \(dense.rows)×\(dense.cols) matrix; valid ranks are 1...\(maximum)")
    }
    let svd: SingularValueDecomposition<Scalar>
    switch method {
    case .exact:
        svd = try SingularValueDecomposition(dense)
    case .randomized(let oversampling, let powerIterations, let seed):
        svd = try .randomized(dense, rank: rank, oversampling: oversampling, powerIterations: powerIterations, seed: seed)
    }
    let roots = svd.singularValues.prefix(rank).map { $0.squareRoot() }
    var left = Matrix<Scalar>(rows: dense.rows, cols: rank)
    for i in 0..<dense.rows {
        for j in 0..<rank { left[i, j] = svd.u[i, j] * roots[j] }
    }
    var right = Matrix<Scalar>(rows: rank, cols: dense.cols)
    for i in 0..<rank {
        for j in 0..<dense.cols { right[i, j] = roots[i] * svd.vt[i, j] }
    }
    let squares = svd.singularValues.map { Double($0) * Double($0) }
    let total = squaredFrobeniusNorm(dense)
    let discarded = method == .exact
        ? squares.dropFirst(rank).reduce(0, +)
        : max(total - squares.prefix(rank).reduce(0, +), 0)
    return RankApproximation(factors: try LowRankFactors(left: left, right: right),
                             singularValues: svd.singularValues, discardedEnergy: discarded, totalEnergy: total)
}

/// ‖m‖²_F accumulated in Double (module-internal so that it specialises with its callers).
func squaredFrobeniusNorm<Scalar: TensorScalar>(_ m: Matrix<Scalar>) -> Double {
    m.withUnsafeBufferPointer { buffer in buffer.reduce(0.0) { $0 + Double($1) * Double($1) } }
}
