extension TensorScalar {
    /// `C = α·op(A)·op(B) + β·C` like `gemm`, split over `ComputeThreads`: C is cut into
    /// `ComputeThreads.count` bands of rows (or of columns when it has few rows), and each band is
    /// one single-threaded BLAS call on its own thread,
    ///
    ///     C[r₀..<r₁, :] = α·op(A)[r₀..<r₁, :]·op(B) + β·C[r₀..<r₁, :]      (row bands)
    ///     C[:, c₀..<c₁] = α·op(A)·op(B)[:, c₀..<c₁] + β·C[:, c₀..<c₁]      (column bands)
    ///
    /// so the result is bit-for-bit the same as one call's only if BLAS is (it is not required).
    /// Products under `parallelThreshold` multiply-adds run as one call.
    @inlinable
    public static func parallelGemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        // Bands of at least 16 rows (columns) by `ComputeThreads.partCount`; the longer side is cut.
        let minimumBand = 16
        let splitRows = m >= n || n < 2 * minimumBand
        let extent = splitRows ? m : n
        let parts = m * n * k < parallelGemmThreshold ? 1 : ComputeThreads.partCount(work: extent, minimumPerPart: minimumBand)
        if parts == 1 {
            gemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let step = ComputeThreads.partLength(items: extent, parts: parts)
        ComputeThreads.parallelFor(parts) { part, _ in
            let start = part * step, count = min(extent, start + step) - start
            if count <= 0 { return }
            if splitRows {
                gemm(transA, transB, m: count, n: n, k: k, alpha: alpha,
                     a: transA == .none ? a + start * lda : a + start, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c + start * ldc, ldc: ldc)
            } else {
                gemm(transA, transB, m: m, n: count, k: k, alpha: alpha, a: a, lda: lda,
                     b: transB == .none ? b + start : b + start * ldb, ldb: ldb,
                     beta: beta, c: c + start, ldc: ldc)
            }
        }
    }
}

/// Multiply-adds (m·n·k) below which `parallelGemm` makes one call: waking the second thread
/// costs a few microseconds, about what 2¹⁸ multiply-adds take on one core.
@usableFromInline let parallelGemmThreshold = 1 << 18
