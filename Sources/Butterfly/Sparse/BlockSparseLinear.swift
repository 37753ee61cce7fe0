import PixelflyCore

/// `y = x·Wᵀ + b` for a block-sparse W of shape (out, in) that stores only its kept blocks.
///
/// The weight parameter is the packed panel storage of `layout` (shape (1, storedCount)): row
/// group g's panel is `rowCount × width`, row-major, at `offset`. Backward: `dx = dy·W`,
/// `dW += dyᵀ·x` on the kept blocks only, `db += Σ_rows dy`. See `BlockSparseKernel` for how
/// each product becomes a few large GEMMs, and `notebooks-md/layer-speedups.md` for timings.
///
/// Initialisation (variance-preserving): the weights of output row i are drawn from
/// U(−a_i, a_i) with `a_i = √(share / nnz_i)`, where nnz_i is the number of stored weights in
/// row i. A dense Kaiming-uniform layer (bound 1/√in) has E‖W_i‖² = 1/3 per row; here every
/// row has E‖W_i‖² = share/3, whatever its own block count. This is the reference's rule (dense
/// draw scaled per row by √(blocks per row / kept blocks in the row)), applied to each row's
/// own count.
///
/// The passes live in extensions by concern: `BlockSparseLinear+Passes.swift` (forward and
/// backward on either backend), `+LowRank` (with a fused Pixelfly low-rank term), `+GELU` (with
/// a fused activation) and `+XSMM` (the LIBXSMM kernel set, the packs, the blocked backward).
public final class BlockSparseLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let layout: BlockSparseLayout
    /// Packed panels, (1, layout.storedCount).
    public let weight: Parameter<Scalar>
    /// (1, out), or nil without bias.
    public let bias: Parameter<Scalar>?
    /// The flat butterfly mask settings the layout came from (nil for a layer built on a layout).
    public private(set) var maskConfiguration: FlatButterflyConfiguration?
    /// Which kernels run the products; nil (the default) picks per call by batch size
    /// (`BlockSparseBackend.automatic(for:batch:)`). Set it to pin every batch to one backend.
    public var backend: BlockSparseBackend?
    /// The backend a product on `batch` rows runs on.
    public func backend(forBatch batch: Int) -> BlockSparseBackend {
        backend ?? BlockSparseBackend.automatic(for: Scalar.self, batch: batch)
    }
    /// Gather workspace of the OpenBLAS kernel, reused across calls.
    var workspace = Matrix<Scalar>(rows: 0, cols: 0)
    /// The LIBXSMM plans (strips of S and Sᵀ, blocks for the weight gradient), the kernels for
    /// the last batch size, and the panels packed for each strip plan.
    let forwardPlan: BlockStripPlan
    let inputGradientPlan: BlockStripPlan
    let weightGradientPlan: BlockGradientPlan
    var kernels: XSMMKernelSet?
    /// Packed weight bytes per strip group of the LIBXSMM strips (`BlockStripPlan.stripGroups`,
    /// default `XSMMKernelSet.stripGroupBytes`). Tests set it small to run many groups on small layers.
    var stripGroupBytes = XSMMKernelSet.stripGroupBytes {
        didSet { kernels = nil }
    }
    /// Whether the LIBXSMM weight gradient copies x block column by block column (default
    /// `XSMMKernelSet.packsWeightGradientInput(rowBytes:)`, which depends on the CPU's L1).
    /// Tests set it to run both paths on every CPU.
    var packsWeightGradientInput: Bool {
        didSet { kernels = nil }
    }
    /// Whether 24-row Float strips run the hand-written AVX2 kernel instead of LIBXSMM's (default
    /// `BlockSparseBackend.handWrittenStrip24`). Tests set it to run both kernels on every CPU
    /// that has AVX2.
    var handWrittenStrips = BlockSparseBackend.handWrittenStrip24 {
        didSet { kernels = nil }
    }
    /// Rows per block of the LIBXSMM backward of an expanding layer (default
    /// `XSMMKernelSet.expandingLayerBackwardBlock`; `XSMMKernelSet.backwardBlockRows` says when
    /// it applies). Tests set a small one to run several blocks at small batches.
    var backwardBlock = XSMMKernelSet.expandingLayerBackwardBlock {
        didSet { kernels = nil }
    }
    let forwardPack = AlignedPack<Scalar>()
    let backwardPack = AlignedPack<Scalar>()
    /// U of a fused low-rank term (Pixelfly) packed for the forward strips, per forward, and V
    /// for the input gradient's strips, per backward (`BlockSparseXSMMKernel.packLowRankFactor`).
    let lowRankPack = AlignedPack<Scalar>()
    let lowRankGradientPack = AlignedPack<Scalar>()
    /// Vᵀ of a Pixelfly low-rank term (row-major in × r), packed per forward for h = x·Vᵀ.
    let lowRankInputPack = AlignedPack<Scalar>()
    /// U of a Pixelfly low-rank term (row-major out × r), copied per backward so that the
    /// producer of dh = dy·U reads it from a 64-byte line like every other LIBXSMM operand here.
    let lowRankOutputPack = AlignedPack<Scalar>()
    /// A layer on a flat butterfly mask. `outputVarianceShare` is the fraction of a dense
    /// layer's output variance this layer carries at initialisation (1 alone; less in a sum).
    public convenience init(mask: FlatButterflyMask, bias: Bool = true, name: String = "sparse",
                            outputVarianceShare: Double = 1, rng: inout SeededRandom) throws {
        try self.init(layout: BlockSparseLayout(mask: mask), bias: bias, name: name,
                      outputVarianceShare: outputVarianceShare, rng: &rng)
        maskConfiguration = mask.configuration
    }

    /// A layer on any block layout.
    public init(layout: BlockSparseLayout, bias: Bool = true, name: String = "sparse",
                outputVarianceShare: Double = 1, rng: inout SeededRandom) throws {
        guard outputVarianceShare > 0 else {
            throw ConfigurationError("BlockSparseLinear.init", "output variance share must be positive, got \(outputVarianceShare)")
        }
        inputFeatures = layout.cols
        outputFeatures = layout.rows
        self.layout = layout
        let size = MemoryLayout<Scalar>.stride
        let stripHeight = BlockSparseBackend.libxsmmStripHeight(blockSize: layout.blockSize)
        let splits = BlockSparseBackend.libxsmmStripSplits(blockSize: layout.blockSize)
        forwardPlan = BlockStripPlan(layout, transposed: false, maximumHeight: stripHeight, splitHeights: splits, scalarSize: size)
        inputGradientPlan = BlockStripPlan(layout, transposed: true, maximumHeight: stripHeight, splitHeights: splits, scalarSize: size)
        weightGradientPlan = BlockGradientPlan(layout)
        packsWeightGradientInput = XSMMKernelSet.packsWeightGradientInput(rowBytes: layout.cols * size)
        var values = Matrix<Scalar>(rows: 1, cols: layout.storedCount)
        for group in layout.groups {
            let bound = (outputVarianceShare / Double(group.width)).squareRoot()
            for index in group.offset..<(group.offset + group.rowCount * group.width) {
                values[0, index] = Scalar(rng.uniform(-bound, bound))
            }
        }
        weight = Parameter(name: name + ".weight", value: values, weightDecay: true)
        let biasBound = 1 / Double(layout.cols).squareRoot()
        self.bias = bias ? Parameter(name: name + ".bias",
                                     value: Matrix(rows: 1, cols: layout.rows, initializer: .uniform(low: -biasBound, high: biasBound), rng: &rng),
                                     weightDecay: false) : nil
    }

    public var parameters: [Parameter<Scalar>] { [weight] + (bias.map { [$0] } ?? []) }
    public var forwardFLOPsPerRow: Int { 2 * layout.storedCount }

    public func denseWeight() -> Matrix<Scalar> { denseMatrix(fromPacked: weight.value) }

    /// A packed (1, storedCount) tensor — the weight or its gradient — as a dense (out, in)
    /// matrix with zeros outside the stored blocks.
    public func denseMatrix(fromPacked packed: Matrix<Scalar>) -> Matrix<Scalar> {
        var dense = Matrix<Scalar>(rows: outputFeatures, cols: inputFeatures)
        forEachStoredElement { row, col, index in dense[row, col] = packed[0, index] }
        return dense
    }

    /// Sets the stored blocks from a dense (out, in) matrix, dropping everything outside them
    /// (the Frobenius-optimal projection onto the layout).
    public func assignProjection(of dense: Matrix<Scalar>) throws {
        guard dense.rows == outputFeatures, dense.cols == inputFeatures else {
            throw ShapeError("BlockSparseLinear.assignProjection", "dense weight is \(dense.rows)×\(dense.cols); expected \(outputFeatures)×\(inputFeatures)")
        }
        weight.withMutableValueElements { w in forEachStoredElement { row, col, index in w[index] = dense[row, col] } }
    }

    private func forEachStoredElement(_ body: (Int, Int, Int) -> Void) {
        for group in layout.groups {
            for r in 0..<group.rowCount {
                var index = group.offset + r * group.width
                for run in group.runs {
                    for c in run.start..<(run.start + run.count) { body(group.rowStart + r, c, index); index += 1 }
                }
            }
        }
    }
}
