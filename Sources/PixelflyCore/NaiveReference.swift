/// Naive references in Double, for tests: obviously correct, slow, never used on a hot path.
public enum NaiveReference {
    /// `α · op(A) · op(B) + β · C` with a triple loop, accumulated in Double.
    public static func gemm<S: TensorScalar>(
        _ a: Matrix<S>, _ transA: Transpose, _ b: Matrix<S>, _ transB: Transpose,
        alpha: Double = 1, beta: Double = 0, c: Matrix<S>? = nil
    ) throws -> Matrix<Double> {
        let (m, k) = transA == .none ? (a.rows, a.cols) : (a.cols, a.rows)
        let (kb, n) = transB == .none ? (b.rows, b.cols) : (b.cols, b.rows)
        guard k == kb else { throw ShapeError("NaiveReference.gemm", "inner dimensions \(k) and \(kb) differ") }
        var out = Matrix<Double>(rows: m, cols: n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transA == .none ? a[i, p] : a[p, i]
                    let y = transB == .none ? b[p, j] : b[j, p]
                    sum += Double(x) * Double(y)
                }
                let previous = c.map { Double($0[i, j]) } ?? 0
                out[i, j] = alpha * sum + beta * previous
            }
        }
        return out
    }
}
