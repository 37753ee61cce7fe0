import PixelflyCore

/// A block-sparse layer reading its input in block-column order (`BlockColumnOrder`), as an MLP's
/// fc2 whose fc1 wrote gelu(h) so: the forward's strips and a Pixelfly term's producer read
/// contiguous tile × b blocks, and the weight gradient (with dV) reads x's chunks in place
/// instead of copying them into that order first.
extension BlockSparseLinear {
    /// The order this layer reads at `batch` rows with a rank-`rank` term (0: none) that folds the
    /// bias in or not, or nil: only on LIBXSMM, where the weight gradient copies x into block
    /// columns anyway (`XSMMKernelSet.packsInput`: rows of x a multiple of 4 KB apart, or a 32 KB
    /// L1), with every kernel available.
    func blockColumnInput(batch: Int, rank: Int, foldsBias: Bool) -> BlockColumnOrder? {
        guard batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: foldsBias), kernels.packsInput,
              rank == 0 || kernels.lowRankProducts != nil, kernels.blockColumnInput(forward: forwardPlan) != nil else { return nil }
        return BlockColumnOrder(blockWidth: forwardPlan.blockSize)
    }

    /// The kernels for an input in `order`, or a `ConfigurationError` naming what this layer
    /// reads instead.
    func requireBlockColumnInput(_ order: BlockColumnOrder, kernels: XSMMKernelSet, _ operation: String) throws
        -> BlockColumnInputKernels {
        guard order.blockWidth == forwardPlan.blockSize, kernels.packsInput,
              let blockColumns = kernels.blockColumnInput(forward: forwardPlan) else {
            throw ConfigurationError(operation, "this layer reads a block-column input of width \(forwardPlan.blockSize) only where "
                + "blockColumnInput(batch:) offers it (LIBXSMM, x's rows a multiple of 4 KB apart); got width \(order.blockWidth)")
        }
        return blockColumns
    }

    /// A `ConfigurationError` for a block-column input on a path that reads row-major x only.
    static func refuse(_ order: BlockColumnOrder?, _ operation: String) throws {
        guard order != nil else { return }
        throw ConfigurationError(operation, "a block-column input needs the LIBXSMM backend with kernels for this batch; "
            + "check blockColumnInput(batch:) first")
    }
}
