/// Row-broadcast helpers shared by the linear layers. Both are specialised for Float and
/// Double so that calls from unspecialised generic code (a layer class used from another
/// module) run concrete loops rather than per-element generic dispatch.

/// Writes `row` (1×n) into every row of `y` (m×n).
@_specialize(where S == Float)
@_specialize(where S == Double)
public func broadcastRows<S: TensorScalar>(_ row: Matrix<S>, into y: inout Matrix<S>) {
    precondition(row.count == y.cols, "broadcast row has \(row.count) elements, matrix has \(y.cols) columns")
    let n = y.cols
    if n == 0 { return }
    row.withUnsafeBufferPointer { r in
        y.withUnsafeMutableBufferPointer { out in
            let source = r.baseAddress!, target = out.baseAddress!
            ComputeThreads.parallelRanges(out.count / n, minimumLength: max(1, 32_768 / n), alignment: 1) { rows in
                for i in rows { (target + i * n).update(from: source, count: n) }
            }
        }
    }
}

/// `sums[j] += Σ_i m[i, j]` (a bias gradient): one pass over `m` in memory order, a plain
/// loop rather than a BLAS call per row (a token-mixing bias has 16–64 columns and tens of
/// thousands of rows, where per-call overhead would dominate).
@_specialize(where S == Float)
@_specialize(where S == Double)
public func addColumnSums<S: TensorScalar>(of m: Matrix<S>, into sums: inout Matrix<S>) {
    precondition(sums.count == m.cols, "column-sum target has \(sums.count) elements, matrix has \(m.cols) columns")
    let (rows, n) = (m.rows, m.cols)
    m.withUnsafeBufferPointer { src in
        sums.withUnsafeMutableBufferPointer { out in
            guard let source = src.baseAddress, let total = out.baseAddress else { return }
            for i in 0..<rows {
                let row = source + i * n
                for j in 0..<n { total[j] += row[j] }
            }
        }
    }
}
