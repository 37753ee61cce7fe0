import PixelflyCore

/// A block-sparse layer whose backward reads a copy of its input x in block-column order
/// (`BlockColumnOrder`), made by the layer before it (an MLP's fc1, in its GELU epilogue): the
/// weight gradient and a Pixelfly term's dV then read x's chunks there in place instead of
/// copying each chunk into that order (`XSMMKernelSet.packsInput`).
extension BlockSparseLinear {
    /// The order this layer's backward reads a copy of x in at `batch` rows with a rank-`rank`
    /// term (0: none) that folds the bias in or not, or nil: only on LIBXSMM, where the weight
    /// gradient copies x into block columns anyway (`XSMMKernelSet.packsInput`: rows of x a
    /// multiple of 4 KB apart, or a 32 KB L1).
    func blockColumnInput(batch: Int, rank: Int, foldsBias: Bool) -> BlockColumnOrder? {
        guard batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: foldsBias), kernels.packsInput,
              rank == 0 || kernels.lowRankProducts != nil else { return nil }
        return BlockColumnOrder(blockWidth: forwardPlan.blockSize)
    }

    /// Throws unless `copy` can stand for x's chunk copies with these kernels: x's shape, and
    /// kernels that read block columns (`packsInput`).
    func requireBlockColumnCopy(_ copy: Matrix<Scalar>, of x: Matrix<Scalar>, kernels: XSMMKernelSet, _ operation: String) throws {
        guard copy.rows == x.rows, copy.cols == x.cols else {
            throw ShapeError(operation, "the block-column copy of x is \(copy.rows)×\(copy.cols); x is \(x.rows)×\(x.cols)")
        }
        guard kernels.packsInput else {
            throw ConfigurationError(operation, "this layer reads x in place at \(x.rows) rows (its rows are not a multiple of "
                + "4 KB apart); check blockColumnInput(batch:) before passing a block-column copy")
        }
    }

    /// A `ConfigurationError` for a block-column copy on a path that cannot read one.
    static func refuse(_ copy: Matrix<Scalar>?, _ operation: String) throws {
        guard copy != nil else { return }
        throw ConfigurationError(operation, "a block-column copy of x needs the LIBXSMM backend with kernels for this batch; "
            + "check blockColumnInput(batch:) first")
    }
}
