import PixelflyCore

/// W ≈ S + L: S supported on a fixed pattern, L of rank r (see `projectOntoSparsePlusLowRank`).
public struct SparsePlusLowRankProjection<Scalar: TensorScalar>: Sendable {
    /// Why the iteration stopped.
    public enum StopReason: Sendable, Equatable {
        /// ‖W − S − L‖_F ≤ tolerance·‖W‖_F: W is (numerically) sparse + low-rank.
        case residualBelowTolerance
        /// The residual fell by less than tolerance × itself in the last iteration.
        case stalled
        /// `maxIterations` ran out first.
        case iterationLimit
    }

    /// Zero outside the support.
    public let sparse: Matrix<Scalar>
    /// L = left·right, rank r.
    public let lowRank: LowRankFactors<Scalar>
    /// ‖W − S − L‖_F after each iteration; non-increasing (up to rounding).
    public let residualNorms: [Double]
    /// ‖W‖_F.
    public let inputNorm: Double
    public let stopReason: StopReason

    public var iterations: Int { residualNorms.count }
    /// Final ‖W − S − L‖_F ÷ ‖W‖_F (0 for W = 0).
    public var relativeResidual: Double { inputNorm == 0 ? 0 : (residualNorms.last ?? 0) / inputNorm }
}

/// Approximately minimises ‖W − S − L‖_F over S supported on `support` and L of rank ≤ r, by
/// alternating projections, starting from L = 0:
///
///     S_k = support ⊙ (W − L_{k−1})          (exact minimiser over S for fixed L)
///     L_k = best rank-r approximation of (W − S_k)   (exact minimiser over L: Eckart–Young)
///
/// Each half-step minimises the objective over one block with the other fixed, so the residual
/// ‖W − S_k − L_k‖_F never increases. The problem is not convex (the rank constraint), so the
/// limit is a stationary point, not necessarily the global minimum; when W is exactly
/// sparse-on-support + rank-r the residual goes to 0 (tests). Cost per iteration: one SVD of
/// an m×n matrix.
///
/// - Parameters:
///   - w: the dense (m, n) matrix W to approximate.
///   - support: the (m, n) 0/1 mask S lives on.
///   - rank: r, in 1...min(m, n).
///   - maxIterations: the most alternating steps to take (≥ 1).
///   - method: how each L step finds the leading r triplets. `.exact` makes every half-step an
///     exact minimiser, hence the monotone residual; `.randomized` is far cheaper for
///     r ≪ min(m, n) and monotone only up to its approximation error.
///   - tolerance: stop when the relative residual falls below it, or when one iteration
///     improves the residual by less than this fraction.
/// - Throws: `ShapeError` if the support's shape differs from W's, the rank is outside
///   1...min(m, n) or `maxIterations < 1`; `LAPACKError` if an SVD fails (e.g. NaN in W).
@_specialize(exported: true, where Scalar == Float)
@_specialize(exported: true, where Scalar == Double)
public func projectOntoSparsePlusLowRank<Scalar: TensorScalar>(
    _ w: Matrix<Scalar>, support: ElementSupport, rank: Int,
    maxIterations: Int = 100, tolerance: Double = 1e-6, method: TruncatedSVDMethod = .exact
) throws -> SparsePlusLowRankProjection<Scalar> {
    let operation = "projectOntoSparsePlusLowRank"
    guard support.rows == w.rows, support.cols == w.cols else {
        throw ShapeError(operation, "support is \(support.rows)×\(support.cols); W is \(w.rows)×\(w.cols); they must match")
    }
    guard maxIterations >= 1 else {
        throw ShapeError(operation, "maxIterations is \(maxIterations); it must be at least 1")
    }
    let maximumRank = min(w.rows, w.cols)
    guard rank >= 1, rank <= maximumRank else {
        throw ShapeError(operation, "rank \(rank) is invalid for a \(w.rows)×\(w.cols) matrix; valid ranks are 1...\(maximumRank)")
    }
    let norm = squaredFrobeniusNorm(w).squareRoot()
    var lowRankProduct = Matrix<Scalar>(rows: w.rows, cols: w.cols)
    var sparse = lowRankProduct
    var factors = try LowRankFactors<Scalar>(left: Matrix(rows: w.rows, cols: rank), right: Matrix(rows: rank, cols: w.cols))
    var residuals: [Double] = []
    var stopReason = SparsePlusLowRankProjection<Scalar>.StopReason.iterationLimit
    for _ in 0..<maxIterations {
        sparse = try support.restrict(elementwise(w, lowRankProduct, -))
        let remainder = try elementwise(w, sparse, -)
        factors = try bestRankApproximation(remainder, rank: rank, method: method).factors
        lowRankProduct = try factors.product()
        let residual = squaredFrobeniusNorm(try elementwise(remainder, lowRankProduct, -)).squareRoot()
        let previous = residuals.last
        residuals.append(residual)
        if residual <= tolerance * norm {
            stopReason = .residualBelowTolerance
            break
        }
        if let previous, previous - residual <= tolerance * previous {
            stopReason = .stalled
            break
        }
    }
    return SparsePlusLowRankProjection(sparse: sparse, lowRank: factors, residualNorms: residuals,
                                       inputNorm: norm, stopReason: stopReason)
}

/// a ∘ b element by element (same shapes).
private func elementwise<Scalar: TensorScalar>(
    _ a: Matrix<Scalar>, _ b: Matrix<Scalar>, _ combine: (Scalar, Scalar) -> Scalar
) throws -> Matrix<Scalar> {
    try Matrix(rows: a.rows, cols: a.cols, storage: zip(a.storage, b.storage).map(combine))
}
