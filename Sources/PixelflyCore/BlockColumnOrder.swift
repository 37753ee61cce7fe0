/// A rows × cols matrix stored block column by block column instead of row by row: block column
/// c (columns c·b ..< (c + 1)·b) is the contiguous rows × b row-major matrix at element c·rows·b,
/// so element (i, j) is at (j / b)·rows·b + i·b + j mod b. cols must be a multiple of b.
///
/// This is the order in which a block-sparse layer's weight gradient reads its input x: it
/// copies each chunk of x into exactly this order first (`packInputChunk`) where x's rows are a
/// multiple of 4 KB apart and would fall into the same L1 sets. An MLP whose fc1 also copies
/// gelu(h) into this order as its GELU epilogue writes it (`BlockColumnGELUProducer`) lets fc2's
/// weight gradient read it there (`BlockColumnInputLinear`) instead
/// (notebooks-md/kernel-passes/50-block-column-hidden.md).
package struct BlockColumnOrder: Equatable, Sendable {
    /// b: the width of a block column.
    package let blockWidth: Int

    package init(blockWidth: Int) {
        precondition(blockWidth > 0, "a block column is at least one column wide")
        self.blockWidth = blockWidth
    }

    /// Whether a matrix with `cols` columns can be stored in this order.
    package func fits(cols: Int) -> Bool { cols % blockWidth == 0 }

    /// The storage index of element (row, col) of a `rows`-row matrix.
    @inlinable
    package func index(row: Int, col: Int, rows: Int) -> Int {
        (col / blockWidth) * rows * blockWidth + row * blockWidth + col % blockWidth
    }

    /// `matrix` (row-major) in this order, same shape.
    package func arranged<S: TensorScalar>(_ matrix: Matrix<S>) -> Matrix<S> {
        precondition(fits(cols: matrix.cols), "\(matrix.cols) columns are not whole \(blockWidth)-wide block columns")
        var out = Matrix<S>(rows: matrix.rows, cols: matrix.cols)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<matrix.rows {
                for j in 0..<matrix.cols { o[index(row: i, col: j, rows: matrix.rows)] = matrix[i, j] }
            }
        }
        return out
    }

    /// The row-major matrix whose storage `arranged` is in this order: the inverse of `arranged`.
    package func rowMajor<S: TensorScalar>(_ arranged: Matrix<S>) -> Matrix<S> {
        precondition(fits(cols: arranged.cols), "\(arranged.cols) columns are not whole \(blockWidth)-wide block columns")
        var out = Matrix<S>(rows: arranged.rows, cols: arranged.cols)
        for i in 0..<arranged.rows {
            for j in 0..<arranged.cols { out[i, j] = arranged.storage[index(row: i, col: j, rows: arranged.rows)] }
        }
        return out
    }
}

/// An MLP's fc1 that can also copy gelu(h) into block-column order as it writes it.
package protocol BlockColumnGELUProducer<Scalar>: GELUFusingLinear {
    /// `forward(_:geluDerivative:gelu:)`, and `blockColumnCopy` = `activated` in `order`. Throws
    /// like it, and `ShapeError` if the output width is not a multiple of the order's block width.
    func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>,
                 blockColumnCopy: inout Matrix<Scalar>, order: BlockColumnOrder) throws
}

/// An MLP's fc2 whose backward can read a block-column copy of its input x = gelu(h).
package protocol BlockColumnInputLinear<Scalar>: GELUFusingLinear {
    /// The order the backward reads a copy of x in at this batch size, or nil where it reads x only.
    func blockColumnInput(batch: Int) -> BlockColumnOrder?

    /// `backward(input:outputGradient:geluDerivative:inputGradient:)` with `blockColumnCopy` = x
    /// in `order` (which must be `blockColumnInput(batch: x.rows)`), after `forward(x, into:)`.
    func backward(input x: Matrix<Scalar>, blockColumnCopy: Matrix<Scalar>, order: BlockColumnOrder,
                  outputGradient dy: Matrix<Scalar>, geluDerivative: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>) throws
}
