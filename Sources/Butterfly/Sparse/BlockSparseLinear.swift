import CLibXSMM
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
    private var workspace = Matrix<Scalar>(rows: 0, cols: 0)
    /// The LIBXSMM plans (strips of S and Sᵀ, blocks for the weight gradient), the kernels for
    /// the last batch size, and the panels packed for each strip plan.
    let forwardPlan: BlockStripPlan
    let inputGradientPlan: BlockStripPlan
    let weightGradientPlan: BlockGradientPlan
    private var kernels: XSMMKernelSet?
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
    private let forwardPack = AlignedPack<Scalar>()
    private let backwardPack = AlignedPack<Scalar>()
    /// U of a fused low-rank term (Pixelfly) packed for the forward strips, per forward, and V
    /// for the input gradient's strips, per backward (`BlockSparseXSMMKernel.packLowRankFactor`).
    private let lowRankPack = AlignedPack<Scalar>()
    private let lowRankGradientPack = AlignedPack<Scalar>()
    /// Vᵀ of a Pixelfly low-rank term (row-major in × r), packed per forward for h = x·Vᵀ.
    private let lowRankInputPack = AlignedPack<Scalar>()
    /// U of a Pixelfly low-rank term (row-major out × r), copied per backward so that the
    /// producer of dh = dy·U reads it from a 64-byte line like every other LIBXSMM operand here.
    private let lowRankOutputPack = AlignedPack<Scalar>()
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

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        y.reshape(rows: x.rows, cols: outputFeatures)
        try multiply(x, into: &y, bias: bias?.value)
    }

    /// y = x·Wᵀ + h·Uᵀ + b, without this layer's own bias (b is the caller's, or nil); h is
    /// (batch, r), U (out, r). The rank-r product and the bias are added inside the kernel's
    /// loops, on output still in cache.
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias b: Matrix<Scalar>?,
                 plus h: Matrix<Scalar>, times u: Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        guard h.rows == x.rows, u.rows == outputFeatures, u.cols == h.cols else {
            throw ShapeError("BlockSparseLinear.forward", "low-rank term \(h.rows)×\(h.cols) · (\(u.rows)×\(u.cols))ᵀ does not fit \(x.rows)×\(outputFeatures)")
        }
        y.reshape(rows: x.rows, cols: outputFeatures)
        try multiply(x, into: &y, bias: b, lowRank: (h, u))
    }

    /// y = x·Wᵀ (+ bias) (+ h·Uᵀ), then the `epilogue` on y block by block (LIBXSMM only:
    /// callers check `fusesEpilogue`).
    func multiply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias: Matrix<Scalar>?,
                  lowRank: (Matrix<Scalar>, Matrix<Scalar>)? = nil, epilogue: OutputEpilogue<Scalar>? = nil) throws {
        let batch = x.rows
        if batch == 0 { return }
        let rank = lowRank.map { $0.0.cols } ?? 0
        if let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: false) {
            Self.pack(forwardPlan, weight.value, into: forwardPack)
            if let (_, u) = lowRank, rank > 0 {
                Self.packLowRankFactor(forwardPlan, u, rowsAreFactorRows: true, into: lowRankPack)
            }
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    withOptionalPointer(bias) { biasPointer in
                        withFusedLowRank(lowRank?.0, factor: lowRankPack, kernels: kernels.lowRankForward) { term in
                            BlockSparseXSMMKernel.apply(forwardPlan, kernels: kernels.forward, handWritten: kernels.forwardHandWritten,
                                                        groups: kernels.forwardGroups, set: kernels,
                                                        pack: forwardPack.pointer, input: input.baseAddress!, output: output.baseAddress!,
                                                        bias: biasPointer, lowRank: term, epilogue: epilogue)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.forward")
        if let bias { try broadcastRows(bias, into: &y) }
        let beta: Scalar = bias == nil ? 0 : 1
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

    /// Pixelfly's `.sum` forward: h = x·Vᵀ into `hidden` (batch, r), then y = x·Wᵀ + h·Uᵀ + b
    /// (b is the caller's bias or nil; U is (out, r), V (r, in)). On LIBXSMM with its low-rank
    /// kernels, h is computed tile by tile inside the strip loop (`XSMMLowRankKernels`), and a
    /// bias rides on the rank-r product: `hidden` is then (batch, r + 1) with column r all ones,
    /// U is packed with b as its column r, and y += [h 1]·[U b]ᵀ (`XSMMKernelSet.foldsBias`).
    /// Else h is one `gemm` and the product goes as `forward(_:into:bias:plus:times:)`. An
    /// `epilogue` runs on y block by block (LIBXSMM only: callers check `fusesEpilogue`).
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias b: Matrix<Scalar>?,
                 u: Matrix<Scalar>, v: Matrix<Scalar>, hidden h: inout Matrix<Scalar>,
                 epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        guard u.rows == outputFeatures, v.cols == inputFeatures, u.cols == v.rows, v.rows > 0 else {
            throw ShapeError("BlockSparseLinear.forward", "low-rank factors U \(u.rows)×\(u.cols), V \(v.rows)×\(v.cols) do not fit "
                + "\(inputFeatures) → \(outputFeatures) (U must be \(outputFeatures)×r, V r×\(inputFeatures), r ≥ 1)")
        }
        let (batch, rank) = (x.rows, v.rows)
        if batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: b != nil),
           let products = kernels.lowRankProducts {
            y.reshape(rows: batch, cols: outputFeatures)
            let width = kernels.hiddenWidth
            if h.rows != batch || h.cols != width { h.reshape(rows: batch, cols: width) }
            if width > rank {
                h.withUnsafeMutableBufferPointer { hidden in
                    for row in 0..<batch { hidden[row * width + rank] = 1 }
                }
            }
            Self.pack(forwardPlan, weight.value, into: forwardPack)
            Self.packLowRankFactor(forwardPlan, u, rowsAreFactorRows: true, biasColumn: width > rank ? b : nil, into: lowRankPack)
            Self.transpose(v, into: lowRankInputPack)
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    withOptionalPointer(width > rank ? nil : b) { biasPointer in
                        withProducedLowRank(&h, factor: lowRankPack, kernels: kernels.lowRankForward,
                                            producerFactor: lowRankInputPack, producerKernels: products.hidden, producerRank: rank) { term in
                            BlockSparseXSMMKernel.apply(forwardPlan, kernels: kernels.forward, handWritten: kernels.forwardHandWritten,
                                                        groups: kernels.forwardGroups, set: kernels,
                                                        pack: forwardPack.pointer, input: input.baseAddress!, output: output.baseAddress!,
                                                        bias: biasPointer, lowRank: term, epilogue: epilogue)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.forward")
        try gemm(x, .none, v, .transposed, into: &h)
        try forward(x, into: &y, bias: b, plus: h, times: u)
    }

    /// Pixelfly's `.sum` backward after `forward(_:into:bias:u:v:hidden:)` with the same x and h
    /// (batch × r, or batch × (r + 1) ending in the folded bias's ones column):
    /// dU += dyᵀ·h, dh = dy·U (into `hiddenGradient`), dV += dhᵀ·x, dW += dyᵀ·x on the kept
    /// blocks, dx = dy·W + dh·V, and db += Σ_batch dy for `pixelflyBias` (the Pixelfly layer's
    /// bias; this layer's own, if it has one, too). On LIBXSMM all four low-rank products run on
    /// its kernels, dh tile by tile inside the input gradient's strip loop and db with the weight
    /// gradient's tiles; else they are `gemm` calls and `addColumnSums`. An `epilogue` runs on
    /// dx block by block (LIBXSMM only: callers check `fusesEpilogue`).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  hidden h: Matrix<Scalar>, u: Parameter<Scalar>, v: Parameter<Scalar>,
                  hiddenGradient dh: inout Matrix<Scalar>, bias pixelflyBias: Parameter<Scalar>?,
                  epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkOutputGradient(dy, input: x, "BlockSparseLinear.backward")
        let (batch, rank) = (x.rows, v.value.rows)
        let foldsBias = h.cols == rank + 1
        guard h.rows == batch, h.cols == rank || foldsBias, u.value.rows == outputFeatures, u.value.cols == rank,
              v.value.cols == inputFeatures else {
            throw ShapeError("BlockSparseLinear.backward", "h \(h.rows)×\(h.cols), U \(u.value.rows)×\(u.value.cols), V \(v.value.rows)×\(v.value.cols) "
                + "do not fit a \(batch)-row batch of \(inputFeatures) → \(outputFeatures) (h must be \(batch)×r or \(batch)×(r + 1), U \(outputFeatures)×r, V r×\(inputFeatures))")
        }
        if batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: foldsBias), let products = kernels.lowRankProducts {
            dx.reshape(rows: batch, cols: inputFeatures)
            if dh.rows != batch || dh.cols != rank { dh.reshape(rows: batch, cols: rank) }
            if pixelflyBias != nil, let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
            Self.packLowRankFactor(inputGradientPlan, v.value, rowsAreFactorRows: false, into: lowRankGradientPack)
            Self.copy(u.value, into: lowRankOutputPack)
            h.withUnsafeBufferPointer { hidden in
                u.withMutableGradientElements { uGradient in
                    let dU = BlockSparseXSMMKernel.LowRankWeightGradient(activations: hidden.baseAddress!, activationStride: h.cols,
                                                                         gradient: uGradient.baseAddress!, rank: rank,
                                                                         kernels: products.uGradient)
                    withProducedLowRank(&dh, factor: lowRankGradientPack, kernels: kernels.lowRankInputGradient,
                                        producerFactor: lowRankOutputPack, producerKernels: products.hiddenGradient, producerRank: rank) { term in
                        guard kernels.packsInput else {
                            xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: pixelflyBias ?? bias, uGradient: dU,
                                         epilogue: epilogue)
                            return
                        }
                        v.withMutableGradientElements { vGradient in
                            let dV = BlockSparseXSMMKernel.PackedVGradient(hiddenGradient: UnsafePointer(term.activations),
                                                                           gradient: vGradient.baseAddress!, rank: rank,
                                                                           kernels: products.packedVGradient)
                            xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: pixelflyBias ?? bias, uGradient: dU,
                                         vGradient: dV, epilogue: epilogue)
                        }
                    }
                }
            }
            if !kernels.packsInput {
                dh.withUnsafeBufferPointer { hiddenGradient in
                    x.withUnsafeBufferPointer { input in
                        v.withMutableGradientElements { gradient in
                            products.accumulateVGradient(dh: hiddenGradient.baseAddress!, x: input.baseAddress!, into: gradient.baseAddress!)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.backward")
        if let pixelflyBias { try pixelflyBias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        // dU += dyᵀ·h (the parallel `gemm`). An h that ends in the ones column of a LIBXSMM
        // forward (the backend changed in between) loses that column first.
        if foldsBias {
            var leading = Matrix<Scalar>(rows: batch, cols: rank)
            for i in 0..<batch { for k in 0..<rank { leading[i, k] = h[i, k] } }
            try u.updateGradient { try gemm(dy, .transposed, leading, .none, beta: 1, into: &$0) }
        } else {
            try u.updateGradient { try gemm(dy, .transposed, h, .none, beta: 1, into: &$0) }
        }
        try gemm(dy, .none, u.value, .none, into: &dh)
        try v.updateGradient { try gemm(dh, .transposed, x, .none, beta: 1, into: &$0) }
        try backward(input: x, outputGradient: dy, inputGradient: &dx, plus: dh, times: v.value)
    }

    private func withOptionalGradient<R>(_ parameter: Parameter<Scalar>?, _ body: (UnsafeMutablePointer<Scalar>?) -> R) -> R {
        guard let parameter else { return body(nil) }
        return parameter.withMutableGradientElements { body($0.baseAddress!) }
    }

    private func withOptionalPointer<R>(_ matrix: Matrix<Scalar>?, _ body: (UnsafePointer<Scalar>?) -> R) -> R {
        guard let matrix else { return body(nil) }
        return matrix.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The fused low-rank term with `activations` (batch × r) and a column-major `factor`; none
    /// when r is 0 (the factor's pack is then not read, whatever an earlier call left in it).
    private func withFusedLowRank<R>(_ activations: Matrix<Scalar>?, factor: AlignedPack<Scalar>, kernels: [[UnsafeRawPointer?]],
                                     _ body: (BlockSparseXSMMKernel.FusedLowRank<Scalar>?) -> R) -> R {
        guard let activations, activations.cols > 0, factor.count > 0 else { return body(nil) }
        return activations.withUnsafeBufferPointer { a in
            body(BlockSparseXSMMKernel.FusedLowRank(factor: factor.pointer, activations: UnsafeMutablePointer(mutating: a.baseAddress!),
                                                    rank: activations.cols, kernels: kernels, producer: nil))
        }
    }

    /// The fused low-rank term whose `activations` (batch × r) the strip loop computes tile by
    /// tile from the input with `producerFactor` and `producerKernels`.
    private func withProducedLowRank<R>(_ activations: inout Matrix<Scalar>, factor: AlignedPack<Scalar>, kernels: [[UnsafeRawPointer?]],
                                        producerFactor: AlignedPack<Scalar>, producerKernels: ProducerKernels, producerRank: Int,
                                        _ body: (BlockSparseXSMMKernel.FusedLowRank<Scalar>) -> R) -> R {
        let rank = activations.cols
        return activations.withUnsafeMutableBufferPointer { a in
            body(BlockSparseXSMMKernel.FusedLowRank(factor: factor.pointer, activations: a.baseAddress!, rank: rank,
                                                    kernels: kernels, producer: (UnsafePointer(producerFactor.pointer), producerRank, producerKernels)))
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

    /// The backward with an optional low-rank term, then the `epilogue` on dx block by block
    /// (LIBXSMM only: callers check `fusesEpilogue`).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  lowRank: (Matrix<Scalar>, Matrix<Scalar>)?, epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkOutputGradient(dy, input: x, "BlockSparseLinear.backward")
        let batch = x.rows
        dx.reshape(rows: batch, cols: inputFeatures)
        if batch == 0 { return }
        if let kernels = xsmmKernels(batch: batch, rank: lowRank.map { $0.0.cols } ?? 0, foldsBias: false) {
            if let (_, v) = lowRank, v.rows > 0 {
                Self.packLowRankFactor(inputGradientPlan, v, rowsAreFactorRows: false, into: lowRankGradientPack)
            }
            withFusedLowRank(lowRank?.0, factor: lowRankGradientPack, kernels: kernels.lowRankInputGradient) { term in
                xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: bias, uGradient: nil, epilogue: epilogue)
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.backward")
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        x.withUnsafeBufferPointer { input in
            dy.withUnsafeBufferPointer { outputGradient in
                weight.withMutableGradientElements { gradient in
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

    /// The LIBXSMM kernels for `batch` rows at the current thread count, with a rank-r term
    /// that folds the bias in or not (dispatched on the first call at that size, then reused);
    /// nil on the OpenBLAS backend or if LIBXSMM cannot JIT them.
    private func xsmmKernels(batch: Int, rank: Int, foldsBias: Bool) -> XSMMKernelSet? {
        guard backend(forBatch: batch) == .libxsmm else { return nil }
        let foldsBias = foldsBias && rank > 0
        if let kernels, kernels.batch == batch, kernels.threads == ComputeThreads.count, kernels.rank == rank,
           kernels.foldsBias == foldsBias { return kernels }
        kernels = XSMMKernelSet(forward: forwardPlan, inputGradient: inputGradientPlan, weightGradient: weightGradientPlan,
                                batch: batch, threads: ComputeThreads.count, rank: rank, foldsBias: foldsBias,
                                stripGroupBytes: stripGroupBytes, packsInput: packsWeightGradientInput,
                                handWrittenStrips: handWrittenStrips, backwardBlock: backwardBlock, scalar: Scalar.self)
        if let set = kernels {
            set.lowRankProducts = XSMMLowRankKernels(rank: rank, inputFeatures: inputFeatures, outputFeatures: outputFeatures,
                                                     weightGradient: weightGradientPlan, set: set)
        }
        return kernels
    }

    /// Whether the LIBXSMM weight gradient at `batch` rows reads x from its block-column copy
    /// (`XSMMKernelSet.packsInput`); nil on the OpenBLAS backend. For tests.
    func xsmmKernelsPackInput(batch: Int) -> Bool? {
        xsmmKernels(batch: batch, rank: 0, foldsBias: false)?.packsInput
    }

    /// Batch rows per block of a Pixelfly (rank `rank`, bias folded) LIBXSMM backward at `batch` rows.
    func xsmmBackwardBlockRows(batch: Int, rank: Int) -> Int? {
        xsmmKernels(batch: batch, rank: rank, foldsBias: true)?.backwardBlockRows
    }

    /// Whether some LIBXSMM-path strips at `batch` rows run the hand-written 24-row kernel
    /// (`XSMMKernelSet.forwardHandWritten`); nil on the OpenBLAS backend. For tests.
    func xsmmRunsHandWrittenStrips(batch: Int) -> Bool? {
        xsmmKernels(batch: batch, rank: 0, foldsBias: false).map {
            $0.forwardHandWritten.contains(true) || $0.inputGradientHandWritten.contains(true)
        }
    }

    /// The number of strip groups of the LIBXSMM forward and input gradient at `batch` rows with
    /// a rank-`rank` term; nil on the OpenBLAS backend. For tests.
    func xsmmStripGroupCounts(batch: Int, rank: Int = 0) -> (forward: Int, inputGradient: Int)? {
        xsmmKernels(batch: batch, rank: rank, foldsBias: false).map { ($0.forwardGroups.count, $0.inputGradientGroups.count) }
    }

    /// Whether an `OutputEpilogue` can run inside this layer's products at `batch` rows with a
    /// rank-`rank` term (0: none) that folds the bias in or not: LIBXSMM kernels (and, with a
    /// term, its low-rank kernels) at that size, Float.
    func fusesEpilogue(batch: Int, rank: Int, foldsBias: Bool) -> Bool {
        guard OutputEpilogue<Scalar>.isAvailable, batch > 0,
              let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: foldsBias) else { return false }
        return rank == 0 || kernels.lowRankProducts != nil
    }

    /// Throws when an epilogue reaches a path that cannot run it (the caller skipped `fusesEpilogue`).
    private static func refuse(_ epilogue: OutputEpilogue<Scalar>?, _ operation: String) throws {
        guard epilogue != nil else { return }
        throw ConfigurationError(operation, "a fused activation needs the LIBXSMM backend with kernels for this batch "
            + "and Float; check fusesGELU(batch:) first")
    }

    /// pack ← the row-major `matrix` transposed (a (1, count) buffer holding cols × rows
    /// row-major), bands of rows split over the compute threads.
    private static func transpose(_ matrix: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
        pack.resize(to: matrix.count)
        let (rows, cols) = (matrix.rows, matrix.cols)
        let size = UInt32(MemoryLayout<Scalar>.stride)
        let to = pack.pointer
        matrix.withUnsafeBufferPointer { source in
            let from = source.baseAddress!
            ComputeThreads.parallelRanges(rows, minimumLength: max(16, 32_768 / max(cols, 1)), alignment: 16) { range in
                libxsmm_otrans(to + range.lowerBound, from + range.lowerBound * cols, size, libxsmm_blasint(cols),
                               libxsmm_blasint(range.count), libxsmm_blasint(cols), libxsmm_blasint(rows))
            }
        }
    }

    /// pack ← `matrix`'s elements as stored.
    private static func copy(_ matrix: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
        pack.resize(to: matrix.count)
        matrix.withUnsafeBufferPointer { source in
            pack.pointer.update(from: source.baseAddress!, count: matrix.count)
        }
    }

    /// pack ← a low-rank factor arranged for `plan`'s strips, with the bias as one more column
    /// when given (`BlockSparseXSMMKernel.packLowRankFactor`).
    private static func packLowRankFactor(_ plan: BlockStripPlan, _ factor: Matrix<Scalar>, rowsAreFactorRows: Bool,
                                          biasColumn: Matrix<Scalar>? = nil, into pack: AlignedPack<Scalar>) {
        let rank = rowsAreFactorRows ? factor.cols : factor.rows
        pack.resize(to: plan.rows * (rank + (biasColumn == nil ? 0 : 1)))
        let destination = pack.pointer
        factor.withUnsafeBufferPointer { source in
            func run(_ bias: UnsafePointer<Scalar>?) {
                BlockSparseXSMMKernel.packLowRankFactor(plan, rank: rank, factor: source.baseAddress!, rowsAreFactorRows: rowsAreFactorRows,
                                                        biasColumn: bias, into: destination)
            }
            if let biasColumn { biasColumn.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
        }
    }

    private static func pack(_ plan: BlockStripPlan, _ panels: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
        pack.resize(to: plan.packedCount)
        let destination = pack.pointer
        panels.withUnsafeBufferPointer { source in
            BlockSparseXSMMKernel.pack(plan, panels: source.baseAddress!, into: destination)
        }
    }

    /// dx = dy·W (+ the low-rank `term`), then dW += dyᵀ·x on the kept blocks, db += Σ_batch dy
    /// for `bias` (this layer's, or the Pixelfly layer's around it), a Pixelfly term's
    /// dU += dyᵀ·h (`uGradient`) and, with `vGradient`, dV += dhᵀ·x on the weight gradient's copy
    /// of x (the term's pass makes the dh that dV needs).
    ///
    /// Both passes run on each block of `XSMMKernelSet.backwardBlockRows` batch rows in turn.
    ///
    /// dx first for every layer, not only for dV's sake: both passes read all of dy, and the
    /// second finds it in L3 when it fits there. The input gradient's strips read dy in place
    /// and hide a cold read; the weight gradient's transposes of dy blocks (48 of 3072 floats
    /// per row, rows 12 KB apart at 768 → 3072) do not: with the weight gradient first they
    /// took 1.0–1.3 ms of its 6.8–7.6 ms, after dx 0.6 ms (throwaway timers, `layers --shapes
    /// 768x3072 --batches 1024 --threads 1 --kinds pixelfly`, AMD EPYC Zen 5, `Cooperlake`;
    /// notebooks-md/kernel-passes/32-input-gradient-first.md). The blocks keep a block's dy in
    /// L3 at any batch for the layers whose dy is the larger stream.
    private func xsmmBackward(_ kernels: XSMMKernelSet, x: Matrix<Scalar>, dy: Matrix<Scalar>, dx: inout Matrix<Scalar>,
                              term: BlockSparseXSMMKernel.FusedLowRank<Scalar>?, bias: Parameter<Scalar>?,
                              uGradient: BlockSparseXSMMKernel.LowRankWeightGradient<Scalar>?,
                              vGradient: BlockSparseXSMMKernel.PackedVGradient<Scalar>? = nil, epilogue: OutputEpilogue<Scalar>?) {
        Self.pack(inputGradientPlan, weight.value, into: backwardPack)
        x.withUnsafeBufferPointer { input in
            dy.withUnsafeBufferPointer { outputGradient in
                for first in stride(from: 0, to: kernels.batch, by: kernels.backwardBlockRows) {
                    let rows = first..<min(kernels.batch, first + kernels.backwardBlockRows)
                    let tiles = (rows.lowerBound / kernels.tile)..<((rows.upperBound + kernels.tile - 1) / kernels.tile)
                    dx.withUnsafeMutableBufferPointer { inputGradient in
                        BlockSparseXSMMKernel.apply(inputGradientPlan, kernels: kernels.inputGradient,
                                                    handWritten: kernels.inputGradientHandWritten, groups: kernels.inputGradientGroups,
                                                    set: kernels, pack: backwardPack.pointer, input: outputGradient.baseAddress!,
                                                    output: inputGradient.baseAddress!, bias: nil, lowRank: term, epilogue: epilogue,
                                                    tiles: tiles)
                    }
                    weight.withMutableGradientElements { gradient in
                        withOptionalGradient(bias) { biasGradient in
                            BlockSparseXSMMKernel.accumulateWeightGradient(
                                weightGradientPlan, kernels: kernels, rows: outputFeatures, cols: inputFeatures,
                                dy: outputGradient.baseAddress!, x: input.baseAddress!, panelGradients: gradient.baseAddress!,
                                biasGradient: biasGradient, lowRank: uGradient, vGradient: vGradient,
                                uncoveredRows: layout.uncoveredRows, batchRows: rows)
                        }
                    }
                }
            }
        }
    }
}
