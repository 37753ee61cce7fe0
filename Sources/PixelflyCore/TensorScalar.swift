import COpenBLAS
import RealModule

/// How a matrix operand enters a product: as stored, or transposed.
public enum Transpose: Sendable, Equatable {
    case none
    case transposed

    @usableFromInline var cblas: CBLAS_TRANSPOSE {
        self == .none ? CblasNoTrans : CblasTrans
    }
}

/// A floating-point element type with BLAS kernels: `Float` (the training type) and `Double`
/// (references and gradient checks).
///
/// Closed to these two: the `supportedScalarToken` requirement returns a `SupportedScalarToken`,
/// which only this module can create, so another module cannot declare a conformance (it
/// would have no token to return). Kernels that dispatch on the concrete type (checkpoint
/// dtypes, the butterfly SIMD paths) therefore only ever see `Float` or `Double`.
///
/// Generic code orchestrates; the per-element work runs inside these static kernels, which are
/// concrete for each type, so a generic caller pays one dynamic dispatch per call, not per
/// element.
public protocol TensorScalar: BinaryFloatingPoint, Real, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// Row-major `C = α·op(A)·op(B) + β·C` on raw pointers (cblas `?gemm`).
    ///
    /// `op(A)` is m×k, `op(B)` is k×n, C is m×n; `lda`, `ldb`, `ldc` are row strides of the
    /// stored (untransposed) arrays.
    static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `y += α·x` over `count` elements (cblas `?axpy`).
    static func axpy(count: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)

    /// Name used in reports and checkpoint headers ("F32", "F64").
    static var dtypeName: String { get }

    /// Proof that the conformance is one of this module's (see the type's documentation).
    static var supportedScalarToken: SupportedScalarToken { get }
}

/// The token `TensorScalar` requires; it has no public initialiser, so only `Float` and
/// `Double` (conformed in this module) can supply one.
public struct SupportedScalarToken: Sendable {
    init() {}
}

extension Float: TensorScalar {
    @inlinable
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        routedGemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    @inlinable
    public static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }

    public static var dtypeName: String { "F32" }

    public static var supportedScalarToken: SupportedScalarToken { SupportedScalarToken() }
}

extension Double: TensorScalar {
    @inlinable
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        routedGemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    @inlinable
    public static func axpy(count: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(count), alpha, x, 1, y, 1)
    }

    public static var dtypeName: String { "F64" }

    public static var supportedScalarToken: SupportedScalarToken { SupportedScalarToken() }
}
