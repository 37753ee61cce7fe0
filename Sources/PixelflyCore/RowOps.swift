/// Row-broadcast helpers shared by the linear layers.

/// Writes `row` (1×n) into every row of `y` (m×n).
@inlinable
public func broadcastRows<S: TensorScalar>(_ row: Matrix<S>, into y: inout Matrix<S>) {
    precondition(row.count == y.cols, "broadcast row has \(row.count) elements, matrix has \(y.cols) columns")
    let n = y.cols
    row.withUnsafeBufferPointer { r in
        y.withUnsafeMutableBufferPointer { out in
            for i in 0..<(out.count / max(n, 1)) {
                _ = UnsafeMutableBufferPointer(rebasing: out[(i * n)..<((i + 1) * n)]).update(fromContentsOf: r)
            }
        }
    }
}

/// `sums[j] += Σ_i m[i, j]` (a bias gradient).
@inlinable
public func addColumnSums<S: TensorScalar>(of m: Matrix<S>, into sums: inout Matrix<S>) {
    precondition(sums.count == m.cols, "column-sum target has \(sums.count) elements, matrix has \(m.cols) columns")
    let n = m.cols
    m.withUnsafeBufferPointer { src in
        sums.withUnsafeMutableBufferPointer { out in
            for i in 0..<m.rows {
                S.axpy(count: n, alpha: 1, x: src.baseAddress! + i * n, y: out.baseAddress!)
            }
        }
    }
}
