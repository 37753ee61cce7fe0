import CLibXSMM
import CVectorKernels
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// The three block-sparse products on LIBXSMM kernels (`XSMMKernelSet`), the
/// `BlockSparseBackend.libxsmm` counterpart of `BlockSparseKernel`:
///
///     forward        y  = x·Sᵀ + b (+ h·Uᵀ)           `apply` with the strips of S
///     input grad     dx = dy·S (+ dh·V)               `apply` with the strips of Sᵀ
///     weight grad    dW_t += dy[:, R_t]ᵀ·x[:, C_t]    per gradient tile, a chunk of batch rows at a time
///
/// `pack` copies the panels into a strip plan's layout (transposed blocks for S, blocks as
/// stored for Sᵀ) once per pass. x, y, dx and dy are read and written in place with their row
/// strides. The bias and a Pixelfly low-rank term are added tile by tile, strip by strip, while
/// the output is in cache. Threads: `apply` hands out contiguous ranges of batch tiles, the
/// weight gradient contiguous ranges of gradient tiles (disjoint outputs). Loops index arrays
/// instead of iterating them: `for element in array` allocated once per element in debug builds
/// (unspecialised iterator), which the allocation tests run.
enum BlockSparseXSMMKernel {
    /// A rank-r term added per strip while its output is in cache: out[tile, strip] +=
    /// activations[tile, :] · factor-rows-of-the-strip, with `factor` packed by
    /// `packLowRankFactor` (U for the forward, V for the input gradient) and `activations`
    /// (batch × `rank`) row-major. `rank` is r, or r + 1 when the forward folds the bias in
    /// (activations end in a column of ones, the packed U in the bias; the producer writes the
    /// first r columns only). `kernels[h][tile]`. With a `producer`, each
    /// tile's activations are first computed from the tile's input, in chunks along plan.cols
    /// (`ProducerKernels`): activations[tile]ᵀ =
    /// producer.factor (r × plan.cols, column-major, ld r) · input[tile]ᵀ (h = x·Vᵀ with Vᵀ
    /// packed for the forward, dh = dy·U with U as stored for the input gradient).
    struct FusedLowRank<S> {
        var factor: UnsafePointer<S>
        var activations: UnsafeMutablePointer<S>
        var rank: Int
        var kernels: [[UnsafeRawPointer?]]
        var producer: (factor: UnsafePointer<S>, rank: Int, kernels: ProducerKernels)?
    }

    /// dU += dyᵀ·h for a Pixelfly low-rank term, computed with the weight gradient on its
    /// transposed dy blocks: `activations` h (batch × r, rows `activationStride` apart: r, or
    /// r + 1 with the folded bias's ones column) row-major, `gradient` dU (out × r) row-major,
    /// `kernels[chunk][shape index]` (`XSMMLowRankKernels.uGradient`).
    struct LowRankWeightGradient<S> {
        var activations: UnsafePointer<S>
        var activationStride: Int
        var gradient: UnsafeMutablePointer<S>
        var rank: Int
        var kernels: [[UGradientKernels]]
    }

    /// dV += dhᵀ·x for a Pixelfly low-rank term, on the weight gradient's chunk copy of x
    /// (`XSMMKernelSet.packsInput`): dh (batch × r) and dV (r × in) row-major,
    /// `kernels[chunk]` (`XSMMLowRankKernels.packedVGradient`), or 24-row slices on
    /// `pixelfly_strip24_f32` where the set has `blockColumnsHandWritten`. dh must be complete:
    /// the layer runs the input-gradient pass, which makes it, first.
    struct PackedVGradient<S> {
        var hiddenGradient: UnsafePointer<S>
        var gradient: UnsafeMutablePointer<S>
        var rank: Int
        var kernels: [UnsafeRawPointer?]
    }

    /// pack ← the layout's panels arranged as `plan` wants them.
    static func pack<S: TensorScalar>(_ plan: BlockStripPlan, panels: UnsafePointer<S>, into pack: UnsafeMutablePointer<S>) {
        let b = libxsmm_blasint(plan.blockSize)
        let size = UInt32(MemoryLayout<S>.stride)
        ComputeThreads.parallelRanges(plan.copies.count, minimumLength: 8, alignment: 1) { range in
            for i in range {
                let copy = plan.copies[i]
                let (source, destination) = (panels + copy.source, pack + copy.destination)
                let (ldi, ldo) = (libxsmm_blasint(copy.sourceStride), libxsmm_blasint(copy.destinationStride))
                // The source is row-major (ld = group width), i.e. column-major with rows and
                // columns swapped; the pack is column-major. S needs it transposed, Sᵀ as is.
                if plan.transposed {
                    // Row by row: libxsmm_matcopy took ~12 µs per 32×32 block here (5 ms of a 6.4 ms
                    // input gradient at 768→3072, batch 64; memcpy rows: 1.3 ms in all).
                    for row in 0..<plan.blockSize {
                        memcpy(destination + row * copy.destinationStride, source + row * copy.sourceStride,
                               copy.extent * MemoryLayout<S>.stride)
                    }
                } else {
                    libxsmm_otrans(destination, source, size, b, libxsmm_blasint(copy.extent), ldi, ldo)
                }
            }
        }
    }

    /// pack ← a rank-r factor arranged for `plan`'s strips: for every row range of the operator
    /// (each strip, each uncovered range), rows a ..< a + h of the factor column-major, h × r with
    /// leading dimension h, at element a·r. `rowsAreFactorRows`: the factor is (plan.rows × r)
    /// row-major, operator row i = factor row i (U for the forward); otherwise it is
    /// (r × plan.rows) row-major, operator row i = factor column i (V for the input gradient).
    ///
    /// Why not the factor as it is (column-major with leading dimension plan.rows): a strip's
    /// kernel then reads r columns of h elements plan.rows apart, and at 3072 rows (12 KB, a
    /// multiple of 4 KB) all of them fall into the same L1 sets. Packed, the 768 → 3072 Pixelfly
    /// forward went from 0.349–0.365 to 0.309–0.335 × dense
    /// (notebooks-md/kernel-passes/04-low-rank-packed.md).
    ///
    /// With `biasColumn` (only for `rowsAreFactorRows`), each range gets one more column, the
    /// bias's entries a ..< a + h: ranges are h × (r + 1) at element a·(r + 1), the factor [U b]
    /// of the forward's folded bias.
    static func packLowRankFactor<S: TensorScalar>(_ plan: BlockStripPlan, rank: Int, factor: UnsafePointer<S>,
                                                   rowsAreFactorRows: Bool, biasColumn: UnsafePointer<S>? = nil,
                                                   into pack: UnsafeMutablePointer<S>) {
        let size = UInt32(MemoryLayout<S>.stride)
        let width = rank + (biasColumn == nil ? 0 : 1)
        let rangeCount = plan.strips.count + plan.uncoveredRows.count
        ComputeThreads.parallelRanges(rangeCount, minimumLength: 4, alignment: 1) { indices in
            for index in indices {
                let rows = index < plan.strips.count
                    ? plan.strips[index].row..<(plan.strips[index].row + plan.strips[index].height)
                    : plan.uncoveredRows[index - plan.strips.count]
                let (a, h) = (rows.lowerBound, rows.count)
                let destination = pack + a * width
                if rowsAreFactorRows {
                    // Rows a ..< a + h of the (rows × r) factor, transposed.
                    libxsmm_otrans(destination, factor + a * rank, size, libxsmm_blasint(rank), libxsmm_blasint(h),
                                   libxsmm_blasint(rank), libxsmm_blasint(h))
                    if let biasColumn { memcpy(destination + rank * h, biasColumn + a, h * MemoryLayout<S>.stride) }
                } else {
                    for k in 0..<rank {
                        memcpy(destination + k * h, factor + k * plan.rows + a, h * MemoryLayout<S>.stride)
                    }
                }
            }
        }
    }

    /// out[j] += Σ_{i < rows} a[j·rows + i] for j < cols (a column-major, contiguous columns).
    static func addColumnSums<S: TensorScalar>(_ a: UnsafePointer<S>, rows: Int, cols: Int, into out: UnsafeMutablePointer<S>) {
        if S.self == Float.self {
            pixelfly_column_sums_f32(UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), rows, cols, rows,
                                     UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
        } else {
            pixelfly_column_sums_f64(UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), rows, cols, rows,
                                     UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
        }
    }

    /// Contiguous ranges of `count` items, one per thread (fewer if there are fewer items).
    /// Cut by the library's one work-splitting rule (`ComputeThreads.partCount`/`partLength`,
    /// one item per part at least) over the kernel set's `threads`.
    /// `body` gets the range and its part index (< `threads`).
    static func forEachRange(_ count: Int, threads: Int, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        let split = RangeSplit(count, threads: threads)
        ComputeThreads.parallelFor(split.parts) { part, _ in body(split.range(part), part) }
    }

    /// The ranges of `forEachRange`: part p covers offset + p·step ..< offset + min(count, (p + 1)·step).
    struct RangeSplit {
        let count: Int
        let parts: Int
        let step: Int
        /// Added to every range: the split covers offset ..< offset + count.
        let offset: Int

        init(_ count: Int, threads: Int, offset: Int = 0) {
            self.count = count
            self.offset = offset
            let parts = ComputeThreads.partCount(work: count, minimumPerPart: 1, threads: threads)
            step = max(1, ComputeThreads.partLength(items: count, parts: parts))
            self.parts = (count + step - 1) / step
        }

        func range(_ part: Int) -> Range<Int> { (offset + min(count, part * step))..<(offset + min(count, (part + 1) * step)) }
    }

    /// packed ← x (rows × cols, row-major) block column by block column: block column c (cols
    /// c·b ..< (c + 1)·b) becomes the contiguous rows × b matrix at packed + c·rows·b, i.e. the
    /// column-major b × rows operand of the weight gradient's kernels (lda = b). Threads copy
    /// contiguous ranges of rows, 16 rows at a time.
    static func packInputChunk<S: TensorScalar>(_ x: UnsafePointer<S>, rows: Int, cols: Int, blockSize b: Int, threads: Int,
                                                into packed: UnsafeMutablePointer<S>) {
        // memcpy, not `update(from:count:)`: unspecialised in this closure, that is a generic
        // element-by-element assignment (`swift_arrayAssignWithCopyFrontToBack` in perf).
        // Rows go in groups of `rowGroup`, block column by block column within a group: each
        // block column's destination then takes rowGroup × b contiguous elements at a time, from
        // rowGroup rows being read in order. Row by row (every block column written per row: 96
        // or 128 destinations at once) the copy ran at 3–5 GB/s on the Intel Xeon.
        let bytes = b * MemoryLayout<S>.stride
        let rowGroup = 16
        forEachRange(rows, threads: threads) { range, _ in
            for first in stride(from: range.lowerBound, to: range.upperBound, by: rowGroup) {
                let last = min(first + rowGroup, range.upperBound)
                for c in stride(from: 0, to: cols, by: b) {
                    let destination = packed + c * rows + first * b
                    for r in first..<last {
                        memcpy(destination + (r - first) * b, x + r * cols + c, bytes)
                    }
                }
            }
        }
    }

    /// dV[:, C]ᵀ (b × r, ldc = in) += x[chunk, C]ᵀ (b × chunk: the block column's copy, lda = b) ·
    /// dh[chunk] (chunk × r) for every block column C, split over the threads. B is dh's chunk
    /// transposed once per chunk (column-major chunk × r, ldb = chunk rows; 32 KB at r = 64 and
    /// 128 rows) into `activationPack`, which `copyActivations` fills with h only after this
    /// returns; so the product is a plain one: at b = 48 two 24-row slices on the hand-written
    /// kernel, like the weight gradient's tiles. On dh in place through LIBXSMM's
    /// Bᵀ flag, dV took 9–40 % more perf samples per FLOP than the layer's block-sparse strips
    /// (AMD EPYC Zen 2, `layers`, batch 4096, 1 thread; most at 3072 → 768 and 4096 → 1024); on
    /// the transposed chunk it took 8–15 % fewer samples than before in five of six runs
    /// (notebooks-md/kernel-passes/24-product-by-product.md).
    static func accumulateVGradient<S: TensorScalar>(_ vGradient: PackedVGradient<S>, chunk: Range<Int>, chunkKind: Int,
                                                     packedInput packed: UnsafeMutablePointer<S>, blockSize b: Int, cols: Int,
                                                     set: XSMMKernelSet) {
        let (rank, chunkRows) = (vGradient.rank, chunk.count)
        let transposed = set.activationPack.assumingMemoryBound(to: S.self)
        // dh[chunk] (r × chunk column-major, ld = r) → (chunk × r, ld = chunk rows).
        libxsmm_otrans(transposed, vGradient.hiddenGradient + chunk.lowerBound * rank, UInt32(MemoryLayout<S>.stride),
                       libxsmm_blasint(rank), libxsmm_blasint(chunkRows), libxsmm_blasint(rank), libxsmm_blasint(chunkRows))
        forEachRange(cols / b, threads: set.threads) { blockColumns, _ in
            for c in blockColumns {
                let (block, gradient) = (packed + c * b * chunkRows, vGradient.gradient + c * b)
                if set.blockColumnsHandWritten {
                    for slice in stride(from: 0, to: b, by: BlockSparseBackend.handWrittenStripHeight) {
                        strip24(a: block + slice, b: UnsafePointer(transposed), c: gradient + slice, n: rank, k: chunkRows,
                                lda: b, ldb: chunkRows, ldc: cols, accumulate: true)
                    }
                } else {
                    pixelfly_xsmm_gemm_run(set.isDouble, vGradient.kernels[chunkKind]!, block, transposed, gradient)
                }
            }
        }
    }

    /// packed (rows.count × r, contiguous) ← h[rows, 0 ..< r]: the chunk's activations without
    /// the folded bias's ones column, for dU's kernels (`XSMMKernelSet.activationPack`).
    static func copyActivations<S>(_ lowRank: LowRankWeightGradient<S>, rows: Range<Int>, into packed: UnsafeMutablePointer<S>) {
        let (rank, stride) = (lowRank.rank, lowRank.activationStride)
        let source = lowRank.activations + rows.lowerBound * stride
        for i in 0..<rows.count {
            memcpy(packed + i * rank, source + i * stride, rank * MemoryLayout<S>.stride)
        }
    }

    /// `pixelfly_strip24_f32` (C (24 × n, ldc) = β·C + Σ A_i · B_i, column-major, byte offsets)
    /// on the layer's own pointers. Only for Float on a CPU with AVX2+FMA, which is where
    /// `XSMMKernelSet` selects it (`forwardHandWritten`, `blockColumnsHandWritten`).
    static func strip24<S>(a: UnsafePointer<S>, b: UnsafePointer<S>, c: UnsafeMutablePointer<S>, n: Int, k: Int, lda: Int,
                           ldb: Int, ldc: Int, count: Int = 1, aOffsets: UnsafePointer<UInt64>? = nil,
                           bOffsets: UnsafePointer<UInt64>? = nil, accumulate: Bool = false) {
        precondition(S.self == Float.self, "the hand-written 24-row kernel is Float only")
        let ran = pixelfly_strip24_f32(UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                                       UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
                                       UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(n), Int32(k), Int32(lda),
                                       Int32(ldb), Int32(ldc), UInt64(count), aOffsets, bOffsets, accumulate ? 1 : 0)
        precondition(ran == 1, "pixelfly_strip24_f32 needs AVX2+FMA; XSMMKernelSet selects it only where they are")
    }

    /// dW += dyᵀ·x on the kept blocks and, with `biasGradient` (rows), db += Σ_batch dy: each row
    /// range's sum rides on its first tile (`BlockGradientPlan.sumsBias`) while that tile's dy
    /// chunk is in cache; `uncoveredRows` (rows without a kept block) are summed separately.
    /// With `lowRank`, the same tile also adds dU[rows] += dy[chunk, rows]ᵀ·h[chunk], on a contiguous copy of h's chunk
    /// (`copyActivations`).
    /// Per chunk of batch rows, the threads first copy x's chunk into `XSMMKernelSet.inputPack`
    /// (`packInputChunk`, when `packsInput`); then each thread runs its range of tiles: it
    /// transposes the dy block of a row range into its scratch (`XSMMKernelSet.transposeScratch`)
    /// and runs every column tile of that range on the two copies. A thread done early takes
    /// the other's last tiles (`TailStealing`), transposing their dy blocks into its own scratch.
    /// `batchRows` (default: the whole batch) limits the sums to one block of rows; it must start
    /// and end on chunk boundaries (or end at the batch), as `XSMMKernelSet.backwardBlockRows` makes it.
    static func accumulateWeightGradient<S: TensorScalar>(
        _ plan: BlockGradientPlan, kernels set: XSMMKernelSet, rows: Int, cols: Int,
        dy: UnsafePointer<S>, x: UnsafePointer<S>, panelGradients: UnsafeMutablePointer<S>,
        biasGradient: UnsafeMutablePointer<S>?, lowRank: LowRankWeightGradient<S>?, vGradient: PackedVGradient<S>? = nil,
        uncoveredRows: [Range<Int>], batchRows: Range<Int>? = nil
    ) {
        let batch = set.batch
        let chunk = set.weightGradientChunk
        let size = UInt32(MemoryLayout<S>.stride)
        let b = plan.blockSize
        let packed = set.inputPack.assumingMemoryBound(to: S.self)
        let batchRows = batchRows ?? 0..<batch
        precondition(batchRows.lowerBound % chunk == 0 && (batchRows.upperBound % chunk == 0 || batchRows.upperBound == batch)
                     && batchRows.upperBound <= batch, "weight-gradient rows \(batchRows) are not whole \(chunk)-row chunks of the batch")
        for start in stride(from: batchRows.lowerBound, to: batchRows.upperBound, by: chunk) {
            let chunkKind = start + chunk <= batch ? 0 : 1
            let chunkRows = min(chunk, batch - start)
            if set.packsInput {
                packInputChunk(x + start * cols, rows: chunkRows, cols: cols, blockSize: b, threads: set.threads, into: packed)
                if let vGradient {
                    accumulateVGradient(vGradient, chunk: start..<start + chunkRows, chunkKind: chunkKind, packedInput: packed,
                                        blockSize: b, cols: cols, set: set)
                }
            }
            if let lowRank {
                copyActivations(lowRank, rows: start..<start + chunkRows, into: set.activationPack.assumingMemoryBound(to: S.self))
            }
            let chunkKernels = set.weightGradient[chunkKind]
            let split = RangeSplit(plan.tileCount, threads: set.threads)
            set.stealing.run(parts: split.parts, unitCount: { split.range($0).count }) { runner, claims in
                // Local copies, read once: not from the caller's frame for every tile.
                let (plan, split, lowRank, biasGradient) = (plan, split, lowRank, biasGradient)
                let transposed = set.transposeScratch.assumingMemoryBound(to: S.self) + runner * set.transposeScratchCount
                var transposedRow = -1
                while let (part, index) = claims.next() {
                    let t = split.range(part).lowerBound + index
                    let outputGradient = dy + start * rows + plan.row[t]
                    if plan.row[t] != transposedRow {
                        // dy[chunk, R] (R × chunk column-major, ld = rows) → (chunk × R, ld = chunk).
                        let tileRows = plan.shapes[plan.shapeIndex[t]].rows
                        libxsmm_otrans(transposed, outputGradient, size, libxsmm_blasint(tileRows), libxsmm_blasint(chunkRows),
                                       libxsmm_blasint(rows), libxsmm_blasint(chunkRows))
                        transposedRow = plan.row[t]
                    }
                    let input: UnsafePointer<S> = set.packsInput
                        ? UnsafePointer(packed + plan.column[t] * chunkRows) : x + start * cols + plan.column[t]
                    let shape = plan.shapes[plan.shapeIndex[t]]
                    if set.blockColumnsHandWritten {
                        // C (b × rows) += A · B as b / 24 slices of 24 rows.
                        for slice in stride(from: 0, to: shape.columns, by: BlockSparseBackend.handWrittenStripHeight) {
                            strip24(a: input + slice, b: UnsafePointer(transposed), c: panelGradients + plan.panelOffset[t] + slice,
                                    n: shape.rows, k: chunkRows, lda: set.packsInput ? shape.columns : cols, ldb: chunkRows,
                                    ldc: shape.stride, accumulate: true)
                        }
                    } else {
                        pixelfly_xsmm_gemm_run(set.isDouble, chunkKernels[plan.shapeIndex[t]]!, input, transposed,
                                               panelGradients + plan.panelOffset[t])
                    }
                    if plan.sumsBias[t], let biasGradient {
                        // db[R] += Σ_chunk dy[chunk, R]: column sums of the transposed block
                        // (contiguous columns), not of dy in place with rows `rows` apart.
                        addColumnSums(transposed, rows: chunkRows, cols: shape.rows,
                                      into: biasGradient + plan.row[t])
                    }
                    if plan.sumsBias[t], let lowRank {
                        // dU[R]ᵀ (r × |R|) += h[chunk]ᵀ (r × chunk, the copy) · the transposed dy block (chunk × |R|).
                        lowRank.kernels[chunkKind][plan.shapeIndex[t]].accumulate(
                            isDouble: set.isDouble, rank: lowRank.rank,
                            activations: UnsafePointer(set.activationPack.assumingMemoryBound(to: S.self)),
                            transposed: UnsafePointer(transposed), into: lowRank.gradient + plan.row[t] * lowRank.rank)
                    }
                }
            }
        }
        for u in uncoveredRows.indices {
            let range = uncoveredRows[u]
            for start in stride(from: batchRows.lowerBound, to: batchRows.upperBound, by: chunk) {
                if let biasGradient {
                    S.gemm(.transposed, .none, m: range.count, n: 1, k: min(chunk, batch - start), alpha: 1,
                           a: dy + start * rows + range.lowerBound, lda: rows,
                           b: set.ones.assumingMemoryBound(to: S.self), ldb: 1, beta: 1,
                           c: biasGradient + range.lowerBound, ldc: 1)
                }
                if let lowRank {
                    S.gemm(.transposed, .none, m: range.count, n: lowRank.rank, k: min(chunk, batch - start), alpha: 1,
                           a: dy + start * rows + range.lowerBound, lda: rows,
                           b: lowRank.activations + start * lowRank.activationStride, ldb: lowRank.activationStride, beta: 1,
                           c: lowRank.gradient + range.lowerBound * lowRank.rank, ldc: lowRank.rank)
                }
            }
        }
    }
}
