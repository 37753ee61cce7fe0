/// A rows × cols matrix stored block column by block column instead of row by row: block column
/// c (columns c·b ..< (c + 1)·b) is the contiguous rows × b row-major matrix at element c·rows·b,
/// so element (i, j) is at (j / b)·rows·b + i·b + j mod b. cols must be a multiple of b.
///
/// This is the order in which a block-sparse layer reads its input x: its strips take x one
/// b-wide block column at a time, and its weight gradient copies each chunk of x into exactly
/// this order first (`packInputChunk`), because x's rows 12 or 16 KB apart fall into the same L1
/// sets. An MLP whose fc1 writes gelu(h) in this order (`BlockColumnGELUProducer`) and whose fc2
/// reads it so (`BlockColumnInputLinear`) skips that copy and reads contiguous 64 × b tiles in
/// fc2's forward (notebooks-md/kernel-passes/50-block-column-hidden.md).
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

extension BlockColumnOrder {
    /// `matrix`, stored in this order, rearranged row-major in its own buffer (same shape, same
    /// storage address: a layer's forward record of it still holds).
    package func rearrangeToRowMajor<S: TensorScalar>(_ matrix: inout Matrix<S>) {
        let rowMajor = rowMajor(matrix)
        rowMajor.withUnsafeBufferPointer { source in
            matrix.withUnsafeMutableBufferPointer { destination in
                for i in source.indices { destination[i] = source[i] }
            }
        }
    }
}

/// An MLP's fc1 that can write gelu(h) in block-column order while it keeps gelu′(h) row-major
/// (`forward(_:geluDerivative:gelu:)` otherwise).
package protocol BlockColumnGELUProducer<Scalar>: GELUFusingLinear {
    /// `forward(_:geluDerivative:gelu:)` with `activated` stored in `order`. Throws like it, and
    /// `ShapeError` if the output width is not a multiple of the order's block width.
    func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>,
                 order: BlockColumnOrder) throws
}

/// An MLP's fc2 that can read its input x = gelu(h) in block-column order.
package protocol BlockColumnInputLinear<Scalar>: GELUFusingLinear {
    /// The order the layer reads at this batch size, or nil where it reads row-major x only.
    func blockColumnInput(batch: Int) -> BlockColumnOrder?

    /// `forward(_:into:)` for x stored in `order` (which must be `blockColumnInput(batch: x.rows)`).
    func forward(blockColumns x: Matrix<Scalar>, order: BlockColumnOrder, into y: inout Matrix<Scalar>) throws

    /// `backward(input:outputGradient:geluDerivative:inputGradient:)` for x stored in `order`,
    /// after `forward(blockColumns:order:into:)` on the same x; dx is row-major.
    func backward(blockColumnInput x: Matrix<Scalar>, order: BlockColumnOrder, outputGradient dy: Matrix<Scalar>,
                  geluDerivative: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>) throws
}
