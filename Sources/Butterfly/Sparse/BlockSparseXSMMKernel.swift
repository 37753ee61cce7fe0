import CLibXSMM
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// The three block-sparse products on LIBXSMM batch-reduce kernels (`XSMMKernelSet`), block by
/// block as listed in `BlockSparseBlockPlan`. Same contract as `BlockSparseKernel`:
///
///     forward        y  = x·Sᵀ + β·y (+ a·bᵀ)       per batch tile and output block row R:
///                                                    y[tile, R] = β·y + Σ_{t in R} x[tile, C_t]·W_tᵀ
///     input grad     dx = dy·S (+ a·b)              per batch tile and input block column C:
///                                                    dx[tile, C] = Σ_{t in C} dy[tile, R_t]·W_t
///     weight grad    dW_t += dy[:, R_t]ᵀ·x[:, C_t]  per block, a chunk of batch rows at a time
///
/// The forward reads W_tᵀ from the forward copy `pack` wrote (the panels hold W_t row-major,
/// the kernels want it column-major); the input gradient reads the panels in place when every
/// group has the same width, else a block-wise copy. x, y, dx and dy are read and written in
/// place with their row strides. A low-rank term runs once per `BlockSparseKernel.chunkRows`
/// rows, on output still in cache. Threads: the forward and input gradient hand out contiguous
/// tile ranges, the weight gradient contiguous block ranges (disjoint outputs). Loops index
/// arrays instead of iterating them: `for element in array` allocated once per element in debug
/// builds (unspecialised iterator), which the allocation tests run.
enum BlockSparseXSMMKernel {
    typealias LowRankTerm = BlockSparseKernel.LowRankTerm

    /// forward ← Wᵀ per block (column-major b×b); backward (if not nil) ← W per block.
    static func pack<S: TensorScalar>(_ plan: BlockSparseBlockPlan, panels: UnsafePointer<S>,
                                      forward: UnsafeMutablePointer<S>?, backward: UnsafeMutablePointer<S>?) {
        let b = plan.blockSize
        let size = UInt32(MemoryLayout<S>.stride)
        let rowCount = plan.forwardRows.count
        ComputeThreads.parallelRanges(rowCount, minimumLength: 8, alignment: 1) { range in
            for r in range {
                let reduction = plan.forwardRows[r]
                let t = reduction.start
                let width = reduction.count * b
                // The block row's slab (b × width, row-major) is a width×b column-major matrix;
                // its transpose, b × width with leading dimension b, is the blocks' Wᵀ side by side.
                if let forward {
                    libxsmm_otrans(forward + t * b * b, panels + plan.panelOffset[t], size,
                                   libxsmm_blasint(width), libxsmm_blasint(b),
                                   libxsmm_blasint(plan.panelStride[t]), libxsmm_blasint(b))
                }
                if let backward {
                    for k in 0..<reduction.count {
                        libxsmm_matcopy(backward + (t + k) * b * b, panels + plan.panelOffset[t + k], size,
                                        libxsmm_blasint(b), libxsmm_blasint(b),
                                        libxsmm_blasint(plan.panelStride[t]), libxsmm_blasint(b))
                    }
                }
            }
        }
    }

    /// Contiguous ranges of `count` items, one per thread (fewer if there are fewer items).
    static func forEachRange(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count))
        ComputeThreads.parallelFor(parts) { part, _ in
            body((part * count / parts)..<((part + 1) * count / parts))
        }
    }

    static func forward<S: TensorScalar>(
        _ plan: BlockSparseBlockPlan, _ layout: BlockSparseLayout, kernels: XSMMKernelSet, forwardPack: UnsafePointer<S>,
        x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, beta: S, lowRank: LowRankTerm<S>?
    ) {
        let (rows, cols, batch, tile) = (layout.rows, layout.cols, kernels.batch, kernels.tile)
        let betaIndex = beta == 0 ? 0 : 1
        let tilesPerChunk = max(1, BlockSparseKernel.chunkRows / tile)
        plan.forwardWeightOffsets.withUnsafeBufferPointer { weightOffsets in
            plan.forwardInputOffsets.withUnsafeBufferPointer { inputOffsets in
                forEachRange(kernels.tileCount, threads: kernels.threads) { tiles in
                    for chunkStart in stride(from: tiles.lowerBound, to: tiles.upperBound, by: tilesPerChunk) {
                        let chunkTiles = chunkStart..<min(tiles.upperBound, chunkStart + tilesPerChunk)
                        for t in chunkTiles {
                            let start = t * tile
                            let kernel = kernels.forward[start + tile <= batch ? 0 : 1][betaIndex]!
                            for r in plan.forwardRows.indices {
                                let reduction = plan.forwardRows[r]
                                pixelfly_xsmm_brgemm_offs_run(
                                    kernels.isDouble, kernel, forwardPack, x + start * cols, y + start * rows + reduction.outputColumn,
                                    UInt64(reduction.count), weightOffsets.baseAddress! + reduction.start,
                                    inputOffsets.baseAddress! + reduction.start)
                            }
                        }
                        let first = chunkTiles.lowerBound * tile
                        let chunk = min(batch, chunkTiles.upperBound * tile) - first
                        if beta == 0 {
                            for u in layout.uncoveredRows.indices {
                                let range = layout.uncoveredRows[u]
                                for row in first..<(first + chunk) {
                                    memset(y + row * rows + range.lowerBound, 0, range.count * MemoryLayout<S>.stride)
                                }
                            }
                        }
                        if let term = lowRank {
                            S.gemm(.none, .transposed, m: chunk, n: rows, k: term.k, alpha: 1, a: term.a + first * term.lda,
                                   lda: term.lda, b: term.b, ldb: term.ldb, beta: 1, c: y + first * rows, ldc: rows)
                        }
                    }
                }
            }
        }
    }

    /// `weights` is the panels (uniform widths) or the backward copy, matching the offsets in
    /// `weightOffsets` and the kernels' leading dimension.
    static func inputGradient<S: TensorScalar>(
        _ plan: BlockSparseBlockPlan, _ layout: BlockSparseLayout, kernels: XSMMKernelSet, weights: UnsafePointer<S>,
        weightOffsets: UnsafePointer<UInt64>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, lowRank: LowRankTerm<S>?
    ) {
        let (rows, cols, batch, tile) = (layout.rows, layout.cols, kernels.batch, kernels.tile)
        let tilesPerChunk = max(1, BlockSparseKernel.chunkRows / tile)
        plan.gradientInputOffsets.withUnsafeBufferPointer { inputOffsets in
            forEachRange(kernels.tileCount, threads: kernels.threads) { tiles in
                for chunkStart in stride(from: tiles.lowerBound, to: tiles.upperBound, by: tilesPerChunk) {
                    let chunkTiles = chunkStart..<min(tiles.upperBound, chunkStart + tilesPerChunk)
                    for t in chunkTiles {
                        let start = t * tile
                        let kernel = kernels.inputGradient[start + tile <= batch ? 0 : 1]!
                        for c in plan.gradientColumns.indices {
                            let reduction = plan.gradientColumns[c]
                            pixelfly_xsmm_brgemm_offs_run(
                                kernels.isDouble, kernel, weights, dy + start * rows, dx + start * cols + reduction.outputColumn,
                                UInt64(reduction.count), weightOffsets + reduction.start, inputOffsets.baseAddress! + reduction.start)
                        }
                    }
                    let first = chunkTiles.lowerBound * tile
                    let chunk = min(batch, chunkTiles.upperBound * tile) - first
                    for u in plan.uncoveredColumns.indices {
                        let range = plan.uncoveredColumns[u]
                        for row in first..<(first + chunk) {
                            memset(dx + row * cols + range.lowerBound, 0, range.count * MemoryLayout<S>.stride)
                        }
                    }
                    if let term = lowRank {
                        S.gemm(.none, .none, m: chunk, n: cols, k: term.k, alpha: 1, a: term.a + first * term.lda,
                               lda: term.lda, b: term.b, ldb: term.ldb, beta: 1, c: dx + first * cols, ldc: cols)
                    }
                }
            }
        }
    }

    static func accumulateWeightGradient<S: TensorScalar>(
        _ plan: BlockSparseBlockPlan, _ layout: BlockSparseLayout, kernels: XSMMKernelSet,
        dy: UnsafePointer<S>, x: UnsafePointer<S>, panelGradients: UnsafeMutablePointer<S>
    ) {
        let (rows, cols, batch) = (layout.rows, layout.cols, kernels.batch)
        let chunk = min(batch, XSMMKernelSet.weightGradientChunk)
        forEachRange(plan.blockCount, threads: kernels.threads) { blocks in
            for start in stride(from: 0, to: batch, by: chunk) {
                let chunkKernels = kernels.weightGradient[start + chunk <= batch ? 0 : 1]
                for t in blocks {
                    pixelfly_xsmm_gemm_run(kernels.isDouble, chunkKernels[plan.strideIndex[t]]!,
                                           x + start * cols + plan.column[t], dy + start * rows + plan.row[t],
                                           panelGradients + plan.panelOffset[t])
                }
            }
        }
    }
}
