import COpenBLAS

/// How a row-major `?gemm` reaches BLAS so that no kernel family allocates.
///
/// OpenBLAS 0.3.21's `SkylakeX` kernels (AVX-512; chosen on Intel AVX-512 CPUs and by
/// `OPENBLAS_CORETYPE=SkylakeX`) have a "small matrix" path for products with m·n·k ≤ 100³.
/// Its no-transpose kernels (`sgemm_small_kernel_nn_skylakex.c`, `dgemm_…`) work through the
/// column-major M in steps of one AVX-512 register (16 floats, 8 doubles) and handle a last
/// remainder of 1…w/2 rows with a buffer they `malloc` and free on *every call* (when k ≥ 2w).
/// A row-major `C = A·B` is the column-major `Cᵀ = Bᵀ·Aᵀ`, so that M is our n: every small
/// row-major product with both operands untransposed and `n mod w ∈ 1…w/2` allocates — e.g.
/// the low-rank backward's dh = dy·U at rank 8. (Found with `ALLOCATION_COUNTER_BACKTRACE=1`;
/// see notebooks-md/blas-kernel-families.md.)
///
/// No other transpose combination, and no other kernel family (`Prescott`, `Haswell`, `Zen`),
/// allocates per call. So such products are split by columns (t = n mod w, n₀ = n − t):
///
///     C[:, 0..<n₀]  = α·A·B[:, 0..<n₀] + β·C[:, 0..<n₀]     one ?gemm (n₀ mod w = 0)
///     C[:, j]       = α·A·B[:, j] + β·C[:, j]              one ?gemv per tail column j ≥ n₀
///
/// The tail has at most w/2 columns of a product of at most 10⁶ multiply-adds; ?gemv reads the
/// strided columns in place (its work buffer is on the stack or in OpenBLAS's own pool). The
/// rule ignores the kernel's k ≥ 2w condition and the kernel family on purpose: the split is made
/// on every CPU, so results do not depend on which family runs beyond BLAS's usual last-bit
/// differences, and a nearby variant of the kernel is covered too.
@usableFromInline
enum BLASProductRouting {
    /// OpenBLAS's bound for the small-matrix path (`sgemm_small_kernel_permit_skylakex.c`).
    @usableFromInline static let smallProductLimit = 100.0 * 100.0 * 100.0

    /// Tail columns of a row-major product that must go through ?gemv, or 0; `vectorWidth` is
    /// the elements per AVX-512 register (16 for Float, 8 for Double).
    @inlinable
    static func allocatingTailColumns(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                                      vectorWidth: Int) -> Int {
        guard transA == .none, transB == .none else { return 0 }
        guard Double(m) * Double(n) * Double(k) <= smallProductLimit else { return 0 }
        let tail = n % vectorWidth
        return tail >= 1 && tail <= vectorWidth / 2 ? tail : 0
    }
}

extension Float {
    /// `C = α·op(A)·op(B) + β·C` as `cblas_sgemm`, with the tail split described in
    /// `BLASProductRouting`.
    @inlinable
    static func routedGemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let tail = BLASProductRouting.allocatingTailColumns(transA, transB, m: m, n: n, k: k, vectorWidth: 16)
        let head = n - tail
        if head > 0 {
            cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
                        Int32(m), Int32(head), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
        }
        for column in head..<n {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), alpha, a, Int32(lda),
                        b + column, Int32(ldb), beta, c + column, Int32(ldc))
        }
    }
}

extension Double {
    /// `C = α·op(A)·op(B) + β·C` as `cblas_dgemm`, with the tail split described in
    /// `BLASProductRouting`.
    @inlinable
    static func routedGemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        let tail = BLASProductRouting.allocatingTailColumns(transA, transB, m: m, n: n, k: k, vectorWidth: 8)
        let head = n - tail
        if head > 0 {
            cblas_dgemm(CblasRowMajor, transA.cblas, transB.cblas,
                        Int32(m), Int32(head), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
        }
        for column in head..<n {
            cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), alpha, a, Int32(lda),
                        b + column, Int32(ldb), beta, c + column, Int32(ldc))
        }
    }
}
