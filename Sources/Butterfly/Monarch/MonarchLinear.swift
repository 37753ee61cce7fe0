import PixelflyCore

/// Monarch (Dao et al., ICML 2022): `y = x·Mᵀ + b` with M = P·L·Pᵀ·R, two block-diagonal
/// factors joined by a fixed reshape-transpose (sizes, padding and index maps in
/// `MonarchShape`; the products in `MonarchLinear+Passes.swift`).
///
/// Parameters: `blkdiag1` = R as (nblocks, q·p) — block κ is the q×p matrix R[κ] row-major —
/// and `blkdiag2` = L as (nblocks, s·q), plus an optional bias (1, out). Cost per row:
/// 2·nblocks·q·(p + s) FLOPs, against 2·in·out for dense; e.g. 768 → 3072 with 4 blocks is
/// 1/4 + 1/16 of dense.
///
/// Initialisation: R[κ] ~ U(±1/√p) (Kaiming-uniform on each block, as the reference), and
/// L[λ] ~ U(±√(3/q)), so that E‖y‖² matches a dense Kaiming-uniform layer (1/3 of E‖x‖²/in per
/// output): stage 1 gives each h entry variance E[x²]/3, stage 2 keeps it. The reference draws
/// L like R, which leaves the output at 1/3 of dense's variance.
public final class MonarchLinear<Scalar: TensorScalar>: LinearLayer {
    public let shape: MonarchShape
    /// R: (nblocks, q·p).
    public let blkdiag1: Parameter<Scalar>
    /// L: (nblocks, s·q).
    public let blkdiag2: Parameter<Scalar>
    public let bias: Parameter<Scalar>?

    /// Stage-1 output, feature-major (k·q, batch): row f holds h[:, f]. Kept for the backward.
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    @usableFromInline var forwardInput = ForwardInputRecord()
    @usableFromInline var hidden = Matrix<Scalar>(rows: 0, cols: 0)
    /// Stage-2 output before the output permutation, (batch, l·s): z[b, λ·s + σ] = y[b, σ·l + λ].
    @usableFromInline var permuted = Matrix<Scalar>(rows: 0, cols: 0)
    /// ∂L/∂h, feature-major like `hidden`.
    @usableFromInline var hiddenGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public var inputFeatures: Int { shape.inputFeatures }
    public var outputFeatures: Int { shape.outputFeatures }
    public var nblocks: Int { shape.nblocks }

    /// A layer in → out with `nblocks` blocks (1 ≤ nblocks ≤ min(in, out); other sizes pad).
    public init(_ inputFeatures: Int, _ outputFeatures: Int, nblocks: Int, bias: Bool = true,
                name: String = "monarch", rng: inout SeededRandom) throws {
        shape = try MonarchShape(inputFeatures: inputFeatures, outputFeatures: outputFeatures, nblocks: nblocks)
        let firstBound = 1 / Double(shape.p).squareRoot()
        let secondBound = (3 / Double(shape.q)).squareRoot()
        blkdiag1 = Parameter(name: name + ".blkdiag1",
                             value: Matrix(rows: nblocks, cols: shape.q * shape.p, initializer: .uniform(low: -firstBound, high: firstBound), rng: &rng),
                             weightDecay: true)
        blkdiag2 = Parameter(name: name + ".blkdiag2",
                             value: Matrix(rows: nblocks, cols: shape.s * shape.q, initializer: .uniform(low: -secondBound, high: secondBound), rng: &rng),
                             weightDecay: true)
        let biasBound = 1 / Double(inputFeatures).squareRoot()
        self.bias = bias ? Parameter(name: name + ".bias",
                                     value: Matrix(rows: 1, cols: outputFeatures, initializer: .uniform(low: -biasBound, high: biasBound), rng: &rng),
                                     weightDecay: false) : nil
    }

    public var parameters: [Parameter<Scalar>] { [blkdiag1, blkdiag2] + (bias.map { [$0] } ?? []) }
    public var forwardFLOPsPerRow: Int { shape.forwardFLOPsPerRow }

    /// M restricted to (out, in), materialised from the factors (tests and conversion).
    public func denseWeight() -> Matrix<Scalar> {
        shape.denseMatrix(first: blkdiag1.value, second: blkdiag2.value)
    }

    /// Sets R and L to the Frobenius-closest Monarch approximation of `dense` (out, in)
    /// (`projectOntoMonarch`) and returns the relative error ‖W − M‖_F / ‖W‖_F. The bias is kept.
    @discardableResult
    public func assignProjection(of dense: Matrix<Scalar>) throws -> Double {
        let projection = try projectOntoMonarch(dense, nblocks: nblocks)
        guard projection.shape == shape else {
            throw ShapeError("MonarchLinear.assignProjection", "projection has \(projection.shape); the layer is \(shape)")
        }
        try blkdiag1.assign(projection.first)
        try blkdiag2.assign(projection.second)
        return projection.relativeError
    }
}

extension MonarchShape {
    /// M[σ·l + λ, κ·p + π] = Σ_{f ∈ E(λ, κ)} L[λ, σ, f / l] · R[κ, f % q, π], truncated to
    /// (out, in). `first` is R (nblocks, q·p), `second` is L (nblocks, s·q).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func denseMatrix<Scalar: TensorScalar>(first: Matrix<Scalar>, second: Matrix<Scalar>) -> Matrix<Scalar> {
        var dense = Matrix<Scalar>(rows: outputFeatures, cols: inputFeatures)
        for f in 0..<middle {
            let (κ, t, ρ, λ) = (f / q, f % q, f / nblocks, f % nblocks)
            for σ in 0..<s where σ * nblocks + λ < outputFeatures {
                let left = second[λ, σ * q + ρ]
                if left == 0 { continue }
                for π in 0..<validInput(block: κ) {
                    dense[σ * nblocks + λ, κ * p + π] += left * first[κ, t * p + π]
                }
            }
        }
        return dense
    }
}
