import CLibXSMM
import CVectorKernels
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

extension BlockSparseXSMMKernel {
    /// out = in·Opᵀ (+ the low-rank term) (+ bias), where Op is `plan`'s operator, `in` is
    /// (batch, plan.cols), `out` (batch, plan.rows) and `bias` (plan.rows) or nil. The bias is
    /// added over each unit's tile rows of its strip group's columns once their products are
    /// done (`StripPass.addBias`), on output still in L2. `kernels[h][tile]`; the strips of a
    /// height index h with `handWritten[h]` (and their low-rank term) run `pixelfly_strip24_f32`
    /// instead (`XSMMKernelSet.forwardHandWritten`).
    ///
    /// Three steps, each split over the threads in contiguous ranges of batch tiles: the
    /// low-rank producer for every tile; the strips; then, if the plan has rows no strip covers,
    /// those rows and the epilogue. In the first two a thread done early takes the last tiles
    /// or units of the other (`TailStealing`). In the strip step each thread runs its tiles in
    /// chunks of `BlockSparseKernel.chunkRows` batch rows, strip group by strip group (`groups`,
    /// `BlockStripPlan.stripGroups`), each group over every tile of the chunk: a group's packed
    /// weights (a quarter of L2) are then read from memory once per chunk and from L2 for the
    /// other tiles (tile by tile over all strips, the whole pack, larger than L2, streamed in
    /// again for every 64-row tile). An `epilogue` runs over each unit's
    /// tile rows of the group's output columns once its strips are done (contiguous pieces of
    /// several KB, just written; whole rows when a chunk has one tile).
    static func apply<S: TensorScalar>(
        _ plan: BlockStripPlan, kernels: [[UnsafeRawPointer?]], handWritten: [Bool], groups: [Range<Int>], set: XSMMKernelSet,
        pack: UnsafePointer<S>,
        input: UnsafePointer<S>, output: UnsafeMutablePointer<S>, bias: UnsafePointer<S>?,
        lowRank: FusedLowRank<S>?, epilogue: OutputEpilogue<S>? = nil, tiles: Range<Int>? = nil
    ) {
        let tilesPerChunk = max(1, BlockSparseKernel.chunkRows / set.tile)
        let tiles = tiles ?? 0..<set.tileCount
        plan.weightOffsets.withUnsafeBufferPointer { weightOffsets in
            plan.inputOffsets.withUnsafeBufferPointer { inputOffsets in
                let pass = StripPass(plan: plan, kernels: kernels, handWritten: handWritten, set: set, pack: pack, input: input, output: output, bias: bias,
                                     lowRank: lowRank, weightOffsets: weightOffsets.baseAddress, inputOffsets: inputOffsets.baseAddress)
                let split = RangeSplit(tiles.count, threads: set.threads, offset: tiles.lowerBound)
                if lowRank?.producer != nil {
                    set.stealing.run(parts: split.parts, unitCount: { split.range($0).count }) { _, claims in
                        let (pass, split) = (pass, split)
                        while let (part, index) = claims.next() { pass.produceLowRank(tile: split.range(part).lowerBound + index) }
                    }
                }
                if !plan.strips.isEmpty {
                    set.stealing.run(parts: split.parts, unitCount: { part in
                        StripUnits(tiles: split.range(part), tilesPerChunk: tilesPerChunk, groupCount: groups.count).count
                    }) { _, claims in
                        // Local copies, read once: not from the caller's frame for every unit.
                        let (pass, groups, split, epilogue) = (pass, groups, split, plan.uncoveredRows.isEmpty ? epilogue : nil)
                        while let (part, index) = claims.next() {
                            let unit = StripUnits(tiles: split.range(part), tilesPerChunk: tilesPerChunk, groupCount: groups.count)
                                .unit(index)
                            let strips = unit.group.map { groups[$0] } ?? pass.plan.strips.indices
                            pass.runStrips(strips, tile: unit.tile)
                            pass.addBias(strips: strips, tile: unit.tile)
                            if let epilogue { pass.runEpilogue(epilogue, strips: strips, tile: unit.tile) }
                        }
                    }
                }
                if !plan.uncoveredRows.isEmpty {
                    forEachRange(tiles.count, threads: set.threads) { part, _ in
                        let part = (part.lowerBound + tiles.lowerBound)..<(part.upperBound + tiles.lowerBound)
                        for first in stride(from: part.lowerBound, to: part.upperBound, by: tilesPerChunk) {
                            let last = min(part.upperBound, first + tilesPerChunk)
                            pass.fillUncoveredRows(first * set.tile..<min(set.batch, last * set.tile), epilogue: epilogue)
                        }
                    }
                }
            }
        }
    }

    /// The (strip group, tile) units of one thread's tiles in the order it runs them: chunk by
    /// chunk of `tilesPerChunk` tiles, group by group within a chunk, tile by tile within a
    /// group. A chunk of one tile runs all strips as one unit (group nil): no weights to reuse
    /// across tiles, and the epilogue then runs on whole rows.
    struct StripUnits {
        let tiles: Range<Int>
        let tilesPerChunk: Int
        let groupCount: Int

        /// Units of a chunk of `tileCount` tiles.
        private func units(chunkTiles tileCount: Int) -> Int { tileCount * (tileCount > 1 ? groupCount : 1) }

        var count: Int {
            let fullChunks = tiles.count / tilesPerChunk
            return fullChunks * units(chunkTiles: tilesPerChunk) + units(chunkTiles: tiles.count % tilesPerChunk)
        }

        func unit(_ index: Int) -> (group: Int?, tile: Int) {
            let perFullChunk = units(chunkTiles: tilesPerChunk)
            let (chunk, rest) = index.quotientAndRemainder(dividingBy: perFullChunk)
            let first = tiles.lowerBound + chunk * tilesPerChunk
            let chunkTiles = min(tilesPerChunk, tiles.upperBound - first)
            guard chunkTiles > 1 else { return (nil, first) }
            return (rest / chunkTiles, first + rest % chunkTiles)
        }
    }

    /// One `apply` call's operands and the pieces of its loop: a tile's low-rank producer, a
    /// group of strips on a tile, the epilogue of a group on a tile, and the rows no strip covers.
    private struct StripPass<S: TensorScalar> {
        let plan: BlockStripPlan
        let kernels: [[UnsafeRawPointer?]]
        let handWritten: [Bool]
        let set: XSMMKernelSet
        let pack: UnsafePointer<S>
        let input: UnsafePointer<S>
        let output: UnsafeMutablePointer<S>
        let bias: UnsafePointer<S>?
        let lowRank: FusedLowRank<S>?
        /// The plan's offset arrays (nil when it has no strips).
        let weightOffsets: UnsafePointer<UInt64>?
        let inputOffsets: UnsafePointer<UInt64>?

        /// 0 for a full tile, 1 for the batch's shorter last one (the kernels' second index).
        func tail(_ t: Int) -> Int { (t + 1) * set.tile <= set.batch ? 0 : 1 }

        /// activations[tile] = the producer's product, in depth chunks (`ProducerKernels`).
        func produceLowRank(tile t: Int) {
            guard let lowRank, let producer = lowRank.producer else { return }
            let start = t * set.tile
            for c in producer.kernels.starts.indices {
                let k = producer.kernels.starts[c]
                pixelfly_xsmm_gemm_run(set.isDouble, producer.kernels.kernels[tail(t)][c]!, producer.factor + k * producer.rank,
                                       input + start * plan.cols + k, lowRank.activations + start * lowRank.rank)
            }
        }

        /// out[tile, strip] for each strip of `strips`: the batch-reduce product, then the
        /// low-rank term while the strip's output is in cache.
        func runStrips(_ strips: Range<Int>, tile t: Int) {
            let start = t * set.tile
            for s in strips {
                let strip = plan.strips[s]
                let c = output + start * plan.rows + strip.row
                if handWritten[strip.heightIndex] {
                    runHandWritten(strip, start: start, output: c)
                    continue
                }
                pixelfly_xsmm_brgemm_offs_run(set.isDouble, kernels[strip.heightIndex][tail(t)]!, pack, input + start * plan.cols,
                                              c, UInt64(strip.count), weightOffsets! + strip.start, inputOffsets! + strip.start)
                if let lowRank {
                    pixelfly_xsmm_gemm_run(set.isDouble, lowRank.kernels[strip.heightIndex][tail(t)]!,
                                           lowRank.factor + strip.row * lowRank.rank, lowRank.activations + start * lowRank.rank, c)
                }
            }
        }

        /// `runStrips` for one strip on `pixelfly_strip24_f32` (`handWritten` holds for Float
        /// only): the same operands and leading dimensions as the LIBXSMM kernels it replaces.
        private func runHandWritten(_ strip: BlockStripPlan.Strip, start: Int, output c: UnsafeMutablePointer<S>) {
            let rows = min(set.tile, set.batch - start)
            BlockSparseXSMMKernel.strip24(a: pack, b: input + start * plan.cols, c: c, n: rows, k: plan.blockSize, lda: strip.height,
                                          ldb: plan.cols, ldc: plan.rows, count: strip.count,
                                          aOffsets: weightOffsets! + strip.start, bOffsets: inputOffsets! + strip.start)
            if let lowRank {
                BlockSparseXSMMKernel.strip24(a: lowRank.factor + strip.row * lowRank.rank,
                                              b: UnsafePointer(lowRank.activations + start * lowRank.rank), c: c, n: rows,
                                              k: lowRank.rank, lda: strip.height, ldb: lowRank.rank, ldc: plan.rows, accumulate: true)
            }
        }

        /// out[tile, columns] += bias[columns] over the output columns `strips` cover, row piece
        /// by row piece (`pixelfly_add_bias_rows_f32`), once their products are done. Rows no
        /// strip covers inside that range get it too; `fillUncoveredRows` overwrites them later.
        func addBias(strips: Range<Int>, tile t: Int) {
            guard let bias else { return }
            let (start, tileRows, columns) = block(strips: strips, tile: t)
            let first = output + start * plan.rows + columns.lowerBound
            if S.self == Float.self {
                pixelfly_add_bias_rows_f32(UnsafeMutableRawPointer(first).assumingMemoryBound(to: Float.self),
                                           UnsafeRawPointer(bias + columns.lowerBound).assumingMemoryBound(to: Float.self),
                                           tileRows, columns.count, plan.rows)
            } else {
                pixelfly_add_bias_rows_f64(UnsafeMutableRawPointer(first).assumingMemoryBound(to: Double.self),
                                           UnsafeRawPointer(bias + columns.lowerBound).assumingMemoryBound(to: Double.self),
                                           tileRows, columns.count, plan.rows)
            }
        }

        /// The tile's first batch row and row count, and the output columns from the first of
        /// `strips` to the end of the last.
        private func block(strips: Range<Int>, tile t: Int) -> (start: Int, rows: Int, columns: Range<Int>) {
            let start = t * set.tile
            let last = plan.strips[strips.upperBound - 1]
            return (start, min(set.tile, set.batch - start), plan.strips[strips.lowerBound].row..<(last.row + last.height))
        }

        /// The epilogue on the tile's rows of the output columns `strips` cover (contiguous when
        /// there are no uncovered rows), row by row, each row prefetching the next one's operand.
        func runEpilogue(_ epilogue: OutputEpilogue<S>, strips: Range<Int>, tile t: Int) {
            let (start, tileRows, columns) = block(strips: strips, tile: t)
            epilogue.run(output, offset: start * plan.rows + columns.lowerBound, rows: tileRows, count: columns.count, stride: plan.rows)
        }

        /// For the batch rows `batchRows`, the operator rows no strip covers: zero, plus the
        /// bias and the low-rank term they get from no strip, then the epilogue over the rows.
        func fillUncoveredRows(_ batchRows: Range<Int>, epilogue: OutputEpilogue<S>?) {
            guard !plan.uncoveredRows.isEmpty, !batchRows.isEmpty else { return }
            let (first, chunk, rows) = (batchRows.lowerBound, batchRows.count, plan.rows)
            for u in plan.uncoveredRows.indices {
                let range = plan.uncoveredRows[u]
                for row in batchRows {
                    memset(output + row * rows + range.lowerBound, 0, range.count * MemoryLayout<S>.stride)
                }
                if let bias {
                    S.gemm(.none, .none, m: chunk, n: range.count, k: 1, alpha: 1,
                           a: set.ones.assumingMemoryBound(to: S.self), lda: 1,
                           b: bias + range.lowerBound, ldb: range.count, beta: 1,
                           c: output + first * rows + range.lowerBound, ldc: rows)
                }
                if let lowRank {
                    S.gemm(.none, .none, m: chunk, n: range.count, k: lowRank.rank, alpha: 1,
                           a: lowRank.activations + first * lowRank.rank, lda: lowRank.rank,
                           b: lowRank.factor + range.lowerBound * lowRank.rank, ldb: range.count, beta: 1,
                           c: output + first * rows + range.lowerBound, ldc: rows)
                }
            }
            epilogue?.run(output, offset: first * rows, count: chunk * rows)
        }
    }
}
