import PixelflyCore

/// The thin singular value decomposition A = U·diag(σ)·Vᵀ of an m×n matrix, k = min(m, n).
///
/// - `u`: m×k with orthonormal columns (UᵀU = I).
/// - `singularValues`: σ₀ ≥ σ₁ ≥ … ≥ σ_{k−1} ≥ 0.
/// - `vt`: k×n with orthonormal rows (VᵀV = I in the k-dimensional sense: Vᵀ·V = I_k).
///
/// Computed by LAPACK `sgesdd` / `dgesdd` (OpenBLAS). LAPACK is column-major, and a row-major
/// m×n array is the column-major n×m array Aᵀ. So this factors Aᵀ = U′·Σ·V′ᵀ and reads the
/// answer off without copying: A = V′·Σ·U′ᵀ, and LAPACK's column-major V′ᵀ (k×n′ = k×m) is
/// the row-major m×k matrix V′ = U, while its column-major U′ (n×k) is the row-major k×n
/// matrix U′ᵀ = Vᵀ.
///
/// Accuracy (backward stable): ‖A − UΣVᵀ‖ ≈ c·ε·‖A‖ with ε the unit roundoff.
public struct SingularValueDecomposition<Scalar: TensorScalar>: Sendable {
    public let u: Matrix<Scalar>
    public let singularValues: [Scalar]
    public let vt: Matrix<Scalar>

    /// Throws `LAPACKError` if the input holds NaN or infinity, or LAPACK reports failure.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public init(_ a: Matrix<Scalar>) throws {
        let (m, n) = (a.rows, a.cols)
        let k = min(m, n)
        guard k > 0 else {
            u = Matrix(rows: m, cols: 0)
            singularValues = []
            vt = Matrix(rows: 0, cols: n)
            return
        }
        guard a.storage.allSatisfy({ $0.isFinite }) else {
            throw LAPACKError(routine: "gesdd", info: 0, message: "the \(m)×\(n) matrix contains NaN or infinity; the SVD needs finite entries")
        }
        var columnMajorTranspose = a.storage       // Aᵀ as an n×m column-major array
        var sigma = [Scalar](repeating: 0, count: k)
        var uPrime = [Scalar](repeating: 0, count: n * k)   // U′, n×k column-major
        var vtPrime = [Scalar](repeating: 0, count: k * m)  // V′ᵀ, k×m column-major
        try GESDD.run(m: n, n: m, a: &columnMajorTranspose, s: &sigma, u: &uPrime, vt: &vtPrime)
        u = try Matrix(rows: m, cols: k, storage: vtPrime)
        singularValues = sigma
        vt = try Matrix(rows: k, cols: n, storage: uPrime)
    }

    /// Assembles a decomposition from parts the caller knows to be consistent.
    init(u: Matrix<Scalar>, singularValues: [Scalar], vt: Matrix<Scalar>) {
        self.u = u
        self.singularValues = singularValues
        self.vt = vt
    }

    /// min(m, n): the number of singular triplets.
    public var count: Int { singularValues.count }

    /// U·diag(σ)·Vᵀ with only the first `rank` triplets (all by default).
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func reconstruction(rank: Int? = nil) throws -> Matrix<Scalar> {
        let r = rank ?? count
        guard (0...count).contains(r) else {
            throw ShapeError("SingularValueDecomposition.reconstruction", "rank \(r) outside 0...\(count)")
        }
        var scaledU = Matrix<Scalar>(rows: u.rows, cols: r)
        for i in 0..<u.rows {
            for j in 0..<r { scaledU[i, j] = u[i, j] * singularValues[j] }
        }
        var leadingVt = Matrix<Scalar>(rows: r, cols: vt.cols)
        leadingVt.withUnsafeMutableBufferPointer { out in
            vt.withUnsafeBufferPointer { source in
                for i in 0..<(r * vt.cols) { out[i] = source[i] }
            }
        }
        return try matmul(scaledU, .none, leadingVt, .none)
    }
}
