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
    /// All min(m, n) singular values of the input, descending.
    public let singularValues: [Scalar]

    /// ‖A − A_r‖_F = √(Σ_{i ≥ r} σ_i²), the Eckart–Young error (computed in Double).
    public var error: Double {
        singularValues.dropFirst(factors.rank).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    /// ‖A_r‖²_F / ‖A‖²_F = Σ_{i<r} σ_i² / Σ σ_i²: the energy kept.
    public var energyFraction: Double {
        let squares = singularValues.map { Double($0) * Double($0) }
        let total = squares.reduce(0, +)
        return total == 0 ? 1 : squares.prefix(factors.rank).reduce(0, +) / total
    }
}

/// Eckart–Young: among all matrices of rank ≤ r, A_r = U_r·Σ_r·V_rᵀ (the leading r singular
/// triplets) minimises both ‖A − X‖_F and ‖A − X‖₂.
///
/// Throws `ShapeError` unless 1 ≤ rank ≤ min(m, n), and `LAPACKError` if the SVD fails.
public func bestRankApproximation<Scalar: TensorScalar>(
    _ dense: Matrix<Scalar>, rank: Int
) throws -> RankApproximation<Scalar> {
    let maximum = min(dense.rows, dense.cols)
    guard rank >= 1, rank <= maximum else {
        throw ShapeError("bestRankApproximation", "rank \(rank) is invalid for a \(dense.rows)×\(dense.cols) matrix; valid ranks are 1...\(maximum)")
    }
    let svd = try SingularValueDecomposition(dense)
    let roots = svd.singularValues.prefix(rank).map { $0.squareRoot() }
    var left = Matrix<Scalar>(rows: dense.rows, cols: rank)
    for i in 0..<dense.rows {
        for j in 0..<rank { left[i, j] = svd.u[i, j] * roots[j] }
    }
    var right = Matrix<Scalar>(rows: rank, cols: dense.cols)
    for i in 0..<rank {
        for j in 0..<dense.cols { right[i, j] = roots[i] * svd.vt[i, j] }
    }
    return RankApproximation(factors: try LowRankFactors(left: left, right: right),
                             singularValues: svd.singularValues)
}
