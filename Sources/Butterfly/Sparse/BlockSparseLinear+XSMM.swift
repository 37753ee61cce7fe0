import CLibXSMM
import PixelflyCore

/// The LIBXSMM side of `BlockSparseLinear`: the kernel set per batch size and thread count,
/// the packs of W and the low-rank factors in the strip plans' layouts, the backward's blocks
/// of rows, and the pointer plumbing the passes share.
extension BlockSparseLinear {
    func withOptionalGradient<R>(_ parameter: Parameter<Scalar>?, _ body: (UnsafeMutablePointer<Scalar>?) -> R) -> R {
        guard let parameter else { return body(nil) }
        return parameter.withMutableGradientElements { body($0.baseAddress!) }
    }

    /// The fused low-rank term with `activations` (batch × r) and a column-major `factor`; none
    /// when r is 0 (the factor's pack is then not read, whatever an earlier call left in it).
    func withFusedLowRank<R>(_ activations: Matrix<Scalar>?, factor: AlignedPack<Scalar>, kernels: [[UnsafeRawPointer?]],
                             _ body: (BlockSparseXSMMKernel.FusedLowRank<Scalar>?) -> R) -> R {
        guard let activations, activations.cols > 0, factor.count > 0 else { return body(nil) }
        return activations.withUnsafeBufferPointer { a in
            body(BlockSparseXSMMKernel.FusedLowRank(factor: factor.pointer, activations: UnsafeMutablePointer(mutating: a.baseAddress!),
                                                    rank: activations.cols, kernels: kernels, producer: nil))
        }
    }

    /// The fused low-rank term whose `activations` (batch × r) the strip loop computes tile by
    /// tile from the input with `producerFactor` and `producerKernels`.
    func withProducedLowRank<R>(_ activations: inout Matrix<Scalar>, factor: AlignedPack<Scalar>, kernels: [[UnsafeRawPointer?]],
                                producerFactor: AlignedPack<Scalar>, producerKernels: ProducerKernels, producerRank: Int,
                                _ body: (BlockSparseXSMMKernel.FusedLowRank<Scalar>) -> R) -> R {
        let rank = activations.cols
        return activations.withUnsafeMutableBufferPointer { a in
            body(BlockSparseXSMMKernel.FusedLowRank(factor: factor.pointer, activations: a.baseAddress!, rank: rank,
                                                    kernels: kernels, producer: (UnsafePointer(producerFactor.pointer), producerRank, producerKernels)))
        }
    }

    /// y = x·Wᵀ (+ bias) (+ the low-rank `term`) on the forward strips, with W already in
    /// `forwardPack`, then the `epilogue` (`BlockSparseXSMMKernel.apply`).
    func applyForwardStrips(_ kernels: XSMMKernelSet, input: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>,
                            bias: UnsafePointer<Scalar>?, lowRank term: BlockSparseXSMMKernel.FusedLowRank<Scalar>?,
                            epilogue: OutputEpilogue<Scalar>?) {
        BlockSparseXSMMKernel.apply(forwardPlan, kernels: kernels.forward, handWritten: kernels.forwardHandWritten,
                                    groups: kernels.forwardGroups, set: kernels, pack: forwardPack.pointer, input: input,
                                    output: output, bias: bias, lowRank: term, epilogue: epilogue)
    }

    /// The LIBXSMM kernels for `batch` rows at the current thread count, with a rank-r term
    /// that folds the bias in or not (dispatched on the first call at that size, then reused);
    /// nil on the OpenBLAS backend or if LIBXSMM cannot JIT them.
    func xsmmKernels(batch: Int, rank: Int, foldsBias: Bool) -> XSMMKernelSet? {
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

    /// pack ← the row-major `matrix` transposed (a (1, count) buffer holding cols × rows
    /// row-major), bands of rows split over the compute threads.
    static func transpose(_ matrix: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
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
    static func copy(_ matrix: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
        pack.resize(to: matrix.count)
        matrix.withUnsafeBufferPointer { source in
            pack.pointer.update(from: source.baseAddress!, count: matrix.count)
        }
    }

    /// pack ← a low-rank factor arranged for `plan`'s strips, with the bias as one more column
    /// when given (`BlockSparseXSMMKernel.packLowRankFactor`).
    static func packLowRankFactor(_ plan: BlockStripPlan, _ factor: Matrix<Scalar>, rowsAreFactorRows: Bool,
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

    static func pack(_ plan: BlockStripPlan, _ panels: Matrix<Scalar>, into pack: AlignedPack<Scalar>) {
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
    func xsmmBackward(_ kernels: XSMMKernelSet, x: Matrix<Scalar>, dy: Matrix<Scalar>, dx: inout Matrix<Scalar>,
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
