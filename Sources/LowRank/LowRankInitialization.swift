import PixelflyCore

/// How `LowRankLinear` draws its factors V (r×in) and U (out×r).
///
/// Target: a dense `nn.Linear` default (Kaiming-uniform, a = √5) has W ~ U(±1/√in), so
/// Var(W_ij) = 1/(3·in), and for a fixed input row x, E[y_j²] = ‖x‖²/(3·in).
///
/// For W = U·V with U, V independent and zero-mean, W_ij = Σ_k U_ik·V_kj, so
/// Var(W_ij) = r·Var(U)·Var(V), and E[y_j²] = r·Var(U)·Var(V)·‖x‖² for every fixed x.
/// (Derivation and measured numbers: notebooks-md/low-rank.md.)
public enum LowRankInitialization: Sendable, Equatable {
    /// Variance-matched Kaiming-uniform (the default): V ~ U(±√(3/in)), so Var(V) = 1/in and
    /// the hidden h = x·Vᵀ keeps the input's scale (E[h_k²] = ‖x‖²/in); U ~ U(±1/√r), exactly
    /// `nn.Linear(r, out)`'s default, Var(U) = 1/(3r). Product: r·(1/(3r))·(1/in) = 1/(3·in),
    /// the dense layer's variance.
    case kaimingUniform
    /// The reference implementation's init: each factor drawn as its own `nn.Linear` default,
    /// V ~ U(±1/√in), U ~ U(±1/√r). Product variance r·(1/(3r))·(1/(3·in)) = 1/(9·in): one
    /// third of a dense layer's (output standard deviation ÷ √3).
    case referenceKaimingUniform
    /// Draw a dense (out×in) `nn.Linear` default weight and keep its best rank-r approximation,
    /// with √σ on both factors (U = U_r·√Σ_r, V = √Σ_r·V_rᵀ). The product's variance is the
    /// dense variance times the kept energy fraction Σ_{i<r} σ_i² / Σ σ_i² (above r/min(in, out)
    /// because the leading singular values are the largest).
    case svd

    /// (U, V) for the given shape. Throws only if the SVD of `.svd` fails.
    func factors<Scalar: TensorScalar>(
        inputFeatures: Int, outputFeatures: Int, rank: Int, rng: inout SeededRandom
    ) throws -> (u: Matrix<Scalar>, v: Matrix<Scalar>) {
        let uBound = 1 / Double(rank).squareRoot()
        switch self {
        case .kaimingUniform, .referenceKaimingUniform:
            let vBound = (self == .kaimingUniform ? 3.0 : 1.0).squareRoot() / Double(inputFeatures).squareRoot()
            let v = Matrix<Scalar>(rows: rank, cols: inputFeatures, initializer: .uniform(low: -vBound, high: vBound), rng: &rng)
            let u = Matrix<Scalar>(rows: outputFeatures, cols: rank, initializer: .uniform(low: -uBound, high: uBound), rng: &rng)
            return (u, v)
        case .svd:
            let dense = Matrix<Scalar>(rows: outputFeatures, cols: inputFeatures, initializer: .linearDefault, rng: &rng)
            let approximation = try bestRankApproximation(dense, rank: rank)
            return (approximation.factors.left, approximation.factors.right)
        }
    }
}
