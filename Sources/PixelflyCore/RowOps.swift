/// Row-broadcast helpers shared by the linear layers. Both are specialised for Float and
/// Double so that calls from unspecialised generic code (a layer class used from another
/// module) run concrete loops rather than per-element generic dispatch.

/// Writes `row` (1×n) into every row of `y` (m×n); throws `ShapeError` unless `row` has n
/// elements.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func broadcastRows<S: TensorScalar>(_ row: Matrix<S>, into y: inout Matrix<S>) throws {
    guard row.count == y.cols else {
        throw ShapeError("broadcastRows", "row has \(row.count) elements; the matrix has \(y.cols) columns")
    }
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
/// thousands of rows, where per-call overhead would dominate). Throws `ShapeError` unless
/// `sums` has `m.cols` elements.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func addColumnSums<S: TensorScalar>(of m: Matrix<S>, into sums: inout Matrix<S>) throws {
    guard sums.count == m.cols else {
        throw ShapeError("addColumnSums", "target has \(sums.count) elements; the matrix has \(m.cols) columns")
    }
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
