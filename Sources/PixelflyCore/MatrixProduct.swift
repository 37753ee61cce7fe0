/// Matrix products on BLAS.
///
/// All four transpose combinations with accumulation:
///
///     C = α · op(A) · op(B) + β · C,   op(X) ∈ {X, Xᵀ}
///
/// Shapes are checked and a mismatch throws `ShapeError` naming both operands. When `β = 0`
/// the output is reshaped to fit (reusing its capacity); when `β ≠ 0` it must already have the
/// result's shape because its contents are read.
@inlinable
public func gemm<Scalar: TensorScalar>(
    _ a: Matrix<Scalar>, _ transA: Transpose = .none,
    _ b: Matrix<Scalar>, _ transB: Transpose = .none,
    alpha: Scalar = 1, beta: Scalar = 0,
    into c: inout Matrix<Scalar>
) throws {
    let (m, k) = transA == .none ? (a.rows, a.cols) : (a.cols, a.rows)
    let (kb, n) = transB == .none ? (b.rows, b.cols) : (b.cols, b.rows)
    guard k == kb else {
        throw ShapeError("gemm", "op(A) is \(m)×\(k) but op(B) is \(kb)×\(n): inner dimensions must agree "
            + "(A stored \(a.rows)×\(a.cols) \(transA), B stored \(b.rows)×\(b.cols) \(transB))")
    }
    if beta == 0 {
        if c.rows != m || c.cols != n { c.reshape(rows: m, cols: n) }
    } else {
        guard c.rows == m, c.cols == n else {
            throw ShapeError("gemm", "accumulating (β ≠ 0) into C of shape \(c.rows)×\(c.cols); the product is \(m)×\(n)")
        }
    }
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C untouched for k = 0 on some builds; the mathematical answer is β·C.
        c.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = beta == 0 ? 0 : beta * buffer[i] }
        }
        return
    }
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                Scalar.parallelGemm(transA, transB, m: m, n: n, k: k,
                            alpha: alpha, a: pa.baseAddress!, lda: max(a.cols, 1),
                            b: pb.baseAddress!, ldb: max(b.cols, 1),
                            beta: beta, c: pc.baseAddress!, ldc: max(n, 1))
            }
        }
    }
}

/// `op(A) · op(B)` as a new matrix.
@inlinable
public func matmul<Scalar: TensorScalar>(
    _ a: Matrix<Scalar>, _ transA: Transpose = .none,
    _ b: Matrix<Scalar>, _ transB: Transpose = .none
) throws -> Matrix<Scalar> {
    var c = Matrix<Scalar>(rows: 0, cols: 0)
    try gemm(a, transA, b, transB, into: &c)
    return c
}
