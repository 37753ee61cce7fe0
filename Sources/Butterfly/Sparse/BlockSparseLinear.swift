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
public final class BlockSparseLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let layout: BlockSparseLayout
    /// Packed panels, (1, layout.storedCount).
    public let weight: Parameter<Scalar>
    /// (1, out), or nil without bias.
    public let bias: Parameter<Scalar>?
    /// Which kernels run the products (default: LIBXSMM wherever it can generate them).
    public var backend: BlockSparseBackend
    /// Gather workspace of the OpenBLAS kernel, reused across calls.
    private var workspace = Matrix<Scalar>(rows: 0, cols: 0)
    /// The LIBXSMM blocks and offsets, the kernels for the last batch size, the packed copies.
    let blockPlan: BlockSparseBlockPlan
    private var kernels: XSMMKernelSet?
    private var forwardPack = Matrix<Scalar>(rows: 0, cols: 0)
    private var backwardPack = Matrix<Scalar>(rows: 0, cols: 0)

    /// A layer on a flat butterfly mask. `outputVarianceShare` is the fraction of a dense
    /// layer's output variance this layer carries at initialisation (1 alone; less in a sum).
    public convenience init(mask: FlatButterflyMask, bias: Bool = true, name: String = "sparse",
                            outputVarianceShare: Double = 1, rng: inout SeededRandom) throws {
        try self.init(layout: BlockSparseLayout(mask: mask), bias: bias, name: name,
                      outputVarianceShare: outputVarianceShare, rng: &rng)
    }

    /// A layer on any block layout.
    public init(layout: BlockSparseLayout, bias: Bool = true, name: String = "sparse",
                outputVarianceShare: Double = 1, rng: inout SeededRandom) throws {
        guard outputVarianceShare > 0 else {
            throw ShapeError("BlockSparseLinear.init", "output variance share must be positive, got \(outputVarianceShare)")
        }
        inputFeatures = layout.cols
        outputFeatures = layout.rows
        self.layout = layout
        blockPlan = BlockSparseBlockPlan(layout, scalarSize: MemoryLayout<Scalar>.stride)
        backend = BlockSparseBackend.libxsmmAvailable(for: Scalar.self) ? .libxsmm : .openBLAS
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
        forEachStoredElement { row, col, index in weight.value[0, index] = dense[row, col] }
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

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        y.reshape(rows: x.rows, cols: outputFeatures)
        if let bias { broadcastRows(bias.value, into: &y) }
        multiply(x, into: &y, beta: bias == nil ? 0 : 1)
    }

    /// y = x·Wᵀ + h·Uᵀ (+ y when `accumulate`), without this layer's bias; h is (batch, r), U
    /// (out, r). The rank-r product runs inside the kernel's chunk loop, on output still in cache.
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, accumulate: Bool,
                 plus h: Matrix<Scalar>, times u: Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        guard h.rows == x.rows, u.rows == outputFeatures, u.cols == h.cols else {
            throw ShapeError("BlockSparseLinear.forward", "low-rank term \(h.rows)×\(h.cols) · (\(u.rows)×\(u.cols))ᵀ does not fit \(x.rows)×\(outputFeatures)")
        }
        if accumulate {
            guard y.rows == x.rows, y.cols == outputFeatures else {
                throw ShapeError("BlockSparseLinear.forward", "accumulating into \(y.rows)×\(y.cols); expected \(x.rows)×\(outputFeatures)")
            }
        } else {
            y.reshape(rows: x.rows, cols: outputFeatures)
        }
        multiply(x, into: &y, beta: accumulate ? 1 : 0, lowRank: (h, u))
    }

    private func multiply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, beta: Scalar,
                          lowRank: (Matrix<Scalar>, Matrix<Scalar>)? = nil) {
        let batch = x.rows
        if batch == 0 { return }
        if let kernels = xsmmKernels(batch: batch) {
            if forwardPack.count != blockPlan.packedCount { forwardPack.reshape(rows: 1, cols: blockPlan.packedCount) }
            weight.value.withUnsafeBufferPointer { panels in
                forwardPack.withUnsafeMutableBufferPointer { pack in
                    BlockSparseXSMMKernel.pack(blockPlan, panels: panels.baseAddress!, forward: pack.baseAddress!, backward: nil)
                }
            }
            forwardPack.withUnsafeBufferPointer { pack in
                x.withUnsafeBufferPointer { input in
                    y.withUnsafeMutableBufferPointer { output in
                        withLowRankTerm(lowRank) { term in
                            BlockSparseXSMMKernel.forward(blockPlan, layout, kernels: kernels, forwardPack: pack.baseAddress!,
                                                          x: input.baseAddress!, y: output.baseAddress!, beta: beta, lowRank: term)
                        }
                    }
                }
            }
            return
        }
        let workspaceCount = BlockSparseKernel.forwardWorkspaceCount(layout, batch: batch)
        if workspace.count != workspaceCount { workspace.reshape(rows: 1, cols: workspaceCount) }
        weight.value.withUnsafeBufferPointer { panels in
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    workspace.withUnsafeMutableBufferPointer { space in
                        withLowRankTerm(lowRank) { term in
                            BlockSparseKernel.forward(layout, panels: panels.baseAddress!, x: input.baseAddress!, batch: batch,
                                                      y: output.baseAddress!, beta: beta, workspace: space.baseAddress, lowRank: term)
                        }
                    }
                }
            }
        }
    }

    /// `(a, b)` as a kernel term: a (batch, k) and b with k = a.cols.
    private func withLowRankTerm<R>(_ pair: (Matrix<Scalar>, Matrix<Scalar>)?,
                                    _ body: (BlockSparseKernel.LowRankTerm<Scalar>?) -> R) -> R {
        guard let (a, b) = pair, a.count > 0, b.count > 0 else { return body(nil) }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                body(BlockSparseKernel.LowRankTerm(a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols, k: a.cols))
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: nil)
    }

    /// The backward with dx = dy·W + dh·V, where dh is (batch, r) and V (r, in).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  plus dh: Matrix<Scalar>, times v: Matrix<Scalar>) throws {
        guard dh.rows == x.rows, v.cols == inputFeatures, v.rows == dh.cols else {
            throw ShapeError("BlockSparseLinear.backward", "low-rank term \(dh.rows)×\(dh.cols) · \(v.rows)×\(v.cols) does not fit \(x.rows)×\(inputFeatures)")
        }
        try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: (dh, v))
    }

    private func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                          lowRank: (Matrix<Scalar>, Matrix<Scalar>)?) throws {
        try checkOutputGradient(dy, input: x, "BlockSparseLinear.backward")
        let batch = x.rows
        dx.reshape(rows: batch, cols: inputFeatures)
        if batch == 0 { return }
        if let bias { addColumnSums(of: dy, into: &bias.gradient) }
        if let kernels = xsmmKernels(batch: batch) {
            xsmmBackward(kernels, x: x, dy: dy, dx: &dx, lowRank: lowRank)
            return
        }
        x.withUnsafeBufferPointer { input in
            dy.withUnsafeBufferPointer { outputGradient in
                weight.gradient.withUnsafeMutableBufferPointer { gradient in
                    BlockSparseKernel.accumulateWeightGradient(layout, dy: outputGradient.baseAddress!, x: input.baseAddress!,
                                                               batch: batch, panelGradients: gradient.baseAddress!)
                }
                weight.value.withUnsafeBufferPointer { panels in
                    dx.withUnsafeMutableBufferPointer { inputGradient in
                        withLowRankTerm(lowRank) { term in
                            BlockSparseKernel.inputGradient(layout, panels: panels.baseAddress!, dy: outputGradient.baseAddress!,
                                                            batch: batch, dx: inputGradient.baseAddress!, lowRank: term)
                        }
                    }
                }
            }
        }
    }

    /// The LIBXSMM kernels for `batch` rows at the current thread count (dispatched on the first
    /// call at that size, then reused); nil on the OpenBLAS backend or if LIBXSMM cannot JIT them.
    private func xsmmKernels(batch: Int) -> XSMMKernelSet? {
        guard backend == .libxsmm else { return nil }
        if let kernels, kernels.batch == batch, kernels.threads == ComputeThreads.count { return kernels }
        kernels = XSMMKernelSet(blockPlan, layout: layout, batch: batch, threads: ComputeThreads.count, scalar: Scalar.self,
                                backwardLeadingDimension: blockPlan.backwardLeadingDimension)
        return kernels
    }

    private func xsmmBackward(_ kernels: XSMMKernelSet, x: Matrix<Scalar>, dy: Matrix<Scalar>, dx: inout Matrix<Scalar>,
                              lowRank: (Matrix<Scalar>, Matrix<Scalar>)?) {
        if !blockPlan.backwardInPlace {
            if backwardPack.count != blockPlan.packedCount { backwardPack.reshape(rows: 1, cols: blockPlan.packedCount) }
            weight.value.withUnsafeBufferPointer { panels in
                backwardPack.withUnsafeMutableBufferPointer { pack in
                    BlockSparseXSMMKernel.pack(blockPlan, panels: panels.baseAddress!, forward: nil, backward: pack.baseAddress!)
                }
            }
        }
        x.withUnsafeBufferPointer { input in
            dy.withUnsafeBufferPointer { outputGradient in
                weight.gradient.withUnsafeMutableBufferPointer { gradient in
                    BlockSparseXSMMKernel.accumulateWeightGradient(blockPlan, layout, kernels: kernels, dy: outputGradient.baseAddress!,
                                                                   x: input.baseAddress!, panelGradients: gradient.baseAddress!)
                }
                let weights = blockPlan.backwardInPlace ? weight.value : backwardPack
                weights.withUnsafeBufferPointer { weights in
                    blockPlan.gradientWeightOffsets.withUnsafeBufferPointer { offsets in
                        dx.withUnsafeMutableBufferPointer { inputGradient in
                            withLowRankTerm(lowRank) { term in
                                BlockSparseXSMMKernel.inputGradient(blockPlan, layout, kernels: kernels, weights: weights.baseAddress!,
                                                                    weightOffsets: offsets.baseAddress!, dy: outputGradient.baseAddress!,
                                                                    dx: inputGradient.baseAddress!, lowRank: term)
                            }
                        }
                    }
                }
            }
        }
    }
}
