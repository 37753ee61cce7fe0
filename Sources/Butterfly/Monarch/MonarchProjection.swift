import LowRank
import PixelflyCore

/// The Monarch matrix closest to a dense matrix in Frobenius norm, as factors.
public struct MonarchProjection<Scalar: TensorScalar>: Sendable {
    public let shape: MonarchShape
    /// R, (nblocks, q·p), in `MonarchLinear.blkdiag1`'s layout.
    public let first: Matrix<Scalar>
    /// L, (nblocks, s·q), in `MonarchLinear.blkdiag2`'s layout.
    public let second: Matrix<Scalar>
    /// ‖W − M‖²_F (Σ over blocks of the discarded squared singular values) and ‖W‖²_F, in Double.
    public let discardedEnergy: Double
    public let totalEnergy: Double

    /// ‖W − M‖_F.
    public var error: Double { discardedEnergy.squareRoot() }
    /// ‖W − M‖_F / ‖W‖_F (0 for W = 0).
    public var relativeError: Double { totalEnergy == 0 ? 0 : (discardedEnergy / totalEnergy).squareRoot() }
}

/// Projects a dense (out, in) matrix W onto the Monarch matrices with `nblocks` blocks.
///
/// By `MonarchShape`, block (λ, κ) of M — rows σ·l + λ, columns κ·p + π — equals
/// Σ_{f ∈ E(λ,κ)} L[λ, :, f / l] ⊗ R[κ, f % q, :], and no two blocks share a factor entry. So
///
///     min_M ‖W − M‖²_F = Σ_{λ,κ} min_{rank ≤ c} ‖W_{λκ} − X‖²_F,   c = |E(λ, κ)|
///
/// and each term is solved by the truncated SVD (Eckart–Young): the paper's closed form, a
/// rank-1 SVD per block when q = nblocks (c = 1). Padding:
/// rows and columns of a block that fall outside (out, in) are free, so the SVD runs on the
/// block's observed part and the factors are zero on the rest — still optimal. The edge f's
/// column of L and row of R carry the balanced factors √σ·u and √σ·vᵀ.
///
/// Throws `ShapeError` for an invalid `nblocks` (see `MonarchShape`), `LAPACKError` if an SVD
/// fails (e.g. NaN in W).
@_specialize(exported: true, where Scalar == Float)
@_specialize(exported: true, where Scalar == Double)
public func projectOntoMonarch<Scalar: TensorScalar>(_ dense: Matrix<Scalar>, nblocks: Int) throws -> MonarchProjection<Scalar> {
    let shape = try MonarchShape(inputFeatures: dense.cols, outputFeatures: dense.rows, nblocks: nblocks)
    let (l, p, q, s) = (shape.nblocks, shape.p, shape.q, shape.s)
    var first = Matrix<Scalar>(rows: l, cols: q * p)
    var second = Matrix<Scalar>(rows: l, cols: s * q)
    var discarded = 0.0
    var total = 0.0
    for λ in 0..<l {
        for κ in 0..<l {
            let block = shape.block(of: dense, outputBlock: λ, inputBlock: κ)
            let energy = block.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
            total += energy
            let edges = shape.edges(outputBlock: λ, inputBlock: κ)
            let rank = min(edges.count, block.rows, block.cols)
            if rank == 0 || energy == 0 {
                discarded += edges.isEmpty ? energy : 0
                continue
            }
            let approximation = try bestRankApproximation(block, rank: rank)
            discarded += approximation.discardedEnergy
            let (u, v) = (approximation.factors.left, approximation.factors.right)
            for (j, f) in edges.prefix(rank).enumerated() {
                let (ρ, t) = (f / l, f % q)
                for σ in 0..<block.rows { second[λ, σ * q + ρ] = u[σ, j] }
                for π in 0..<block.cols { first[κ, t * p + π] = v[j, π] }
            }
        }
    }
    return MonarchProjection(shape: shape, first: first, second: second, discardedEnergy: discarded, totalEnergy: total)
}

extension MonarchShape {
    /// Output rows of block λ inside (out, in): σ·l + λ for σ < this count.
    public func validOutput(block λ: Int) -> Int {
        max(0, (outputFeatures - λ + nblocks - 1) / nblocks)
    }

    /// The observed part of block (λ, κ) of a dense (out, in) matrix: element (σ, π) is
    /// W[σ·l + λ, κ·p + π], for σ < validOutput(λ) and π < validInput(κ).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func block<Scalar: TensorScalar>(of dense: Matrix<Scalar>, outputBlock λ: Int, inputBlock κ: Int) -> Matrix<Scalar> {
        var block = Matrix<Scalar>(rows: validOutput(block: λ), cols: validInput(block: κ))
        for σ in 0..<block.rows {
            for π in 0..<block.cols { block[σ, π] = dense[σ * nblocks + λ, κ * p + π] }
        }
        return block
    }
}
