/// One block-sparse operator — S itself (forward) or Sᵀ (input gradient) — cut into horizontal
/// strips for LIBXSMM batch-reduce GEMMs, and where to pack its weights for them.
///
/// A strip is up to `maximumHeight` consecutive rows of the operator whose block rows keep the
/// same block columns q₁…q_n (a row group of the layout, or of its transpose). Its weights are
/// packed column-major, h × b per kept block column, side by side: element (r, c) of block k at
/// `packOffset + k·b·h + c·h + r`. With batch rows as columns (x row-major is xᵀ column-major)
///
///     out[tile, strip]ᵀ = β·out[tile, strip]ᵀ + Σ_k P_k (h × b) · in[tile, q_k·b ..< q_k·b + b]ᵀ
///
/// is one batch-reduce call with m = h, k = b, n = tile rows, reduce count n, the P_k at
/// `weightOffsets` from the pack and the input blocks at `inputOffsets` from the tile's first
/// row (byte offsets). A taller strip gives the kernel more vector registers of output per
/// broadcast input element; a shorter one keeps its weights in L1 while the kernel sweeps them
/// once per few batch rows. The layers cap h at `BlockSparseBackend.libxsmmStripHeight(blockSize:)`
/// (64 rows with AVX-512 code; with AVX2 one block where b is a multiple of 32, else 192) and
/// may cut a run into shorter strips (`splitHeights`, `BlockSparseBackend.libxsmmStripSplits`).
struct BlockStripPlan: Sendable, Equatable {
    struct Strip: Sendable, Equatable {
        /// First operator row (element index) and height.
        var row: Int, height: Int
        /// Entries `start ..< start + count` of the offset arrays.
        var start: Int, count: Int
        /// Index of `height` in `heights` (selects the kernel).
        var heightIndex: Int
    }

    /// Copy `extent` operator rows × b operator columns — one or more b×b blocks lying one under
    /// the other in a strip and next to each other in one panel — from the layout's panels at
    /// `source` (leading dimension `sourceStride`) to the pack at `destination` (leading
    /// dimension `destinationStride`). In the panel the operator's rows are panel rows for S
    /// (copied transposed: `extent` rows of b elements) and panel columns for Sᵀ (copied as
    /// stored: b rows of `extent` contiguous elements). One copy per run of such blocks instead
    /// of one per block: at 4096 → 1024, batch 64, packing Sᵀ row by row of single blocks took
    /// as many perf samples as the input gradient's strips
    /// (notebooks-md/kernel-passes/12-weights-packed-in-runs.md).
    struct BlockCopy: Sendable, Equatable {
        var source: Int, sourceStride: Int, destination: Int, destinationStride: Int, extent: Int
    }

    let blockSize: Int
    /// True for Sᵀ (the input gradient): the pack copies blocks as stored instead of transposed.
    let transposed: Bool
    /// Operator rows and columns (out, in for S; in, out for Sᵀ).
    let rows: Int
    let cols: Int
    let strips: [Strip]
    let weightOffsets: [UInt64]
    let inputOffsets: [UInt64]
    let heights: [Int]
    /// Operator rows with no kept block (their output is β·out: zeroed when β = 0).
    let uncoveredRows: [Range<Int>]
    let copies: [BlockCopy]
    let packedCount: Int

    /// `splitHeights`: rows per strip, in order of preference. A run of block rows with the same
    /// block columns (up to `maximumHeight` rows) is cut into strips of the first of them that
    /// divides its height, strips which may start and end inside a block; a run none divides
    /// stays one strip.
    init(_ layout: BlockSparseLayout, transposed: Bool, maximumHeight: Int, splitHeights: [Int] = [], scalarSize: Int) {
        let b = layout.blockSize
        let (layoutBlockRows, layoutBlockCols) = (layout.rows / b, layout.cols / b)
        let (blockRows, blockCols) = transposed ? (layoutBlockCols, layoutBlockRows) : (layoutBlockRows, layoutBlockCols)
        func kept(_ p: Int, _ q: Int) -> Bool {
            transposed ? layout.blocks[q * layoutBlockCols + p] : layout.blocks[p * layoutBlockCols + q]
        }
        let pattern = (0..<blockRows).map { p in (0..<blockCols).filter { kept(p, $0) } }
        let maximumBlocks = max(1, maximumHeight / b)
        var strips: [Strip] = [], weightOffsets: [UInt64] = [], inputOffsets: [UInt64] = []
        var heights: [Int] = [], uncovered: [Range<Int>] = [], copies: [BlockCopy] = []
        var packed = 0
        var p = 0
        while p < blockRows {
            var end = p + 1
            while end < blockRows, end - p < maximumBlocks, pattern[end] == pattern[p] { end += 1 }
            let columns = pattern[p]
            let runHeight = (end - p) * b
            if columns.isEmpty {
                if let last = uncovered.last, last.upperBound == p * b {
                    uncovered[uncovered.count - 1] = last.lowerBound..<(end * b)
                } else {
                    uncovered.append((p * b)..<(end * b))
                }
                p = end
                continue
            }
            let height = splitHeights.first { runHeight % $0 == 0 } ?? runHeight
            if !heights.contains(height) { heights.append(height) }
            for first in stride(from: p * b, to: end * b, by: height) {
                strips.append(Strip(row: first, height: height, start: weightOffsets.count, count: columns.count,
                                    heightIndex: heights.firstIndex(of: height)!))
                for (k, q) in columns.enumerated() {
                    weightOffsets.append(UInt64((packed + k * b * height) * scalarSize))
                    inputOffsets.append(UInt64(q * b * scalarSize))
                    let firstCopy = copies.count
                    // The strip's rows, block row by block row (a strip may start or end inside one).
                    var row = first
                    while row < first + height {
                        let extent = min(first + height, (row / b + 1) * b) - row
                        // Operator rows row ..< row + extent of block column q: layout rows, or layout columns for Sᵀ.
                        let (layoutRow, layoutCol) = transposed ? (q * b, row) : (row, q * b)
                        let group = layout.groups.first { layoutRow >= $0.rowStart && layoutRow < $0.rowStart + $0.rowCount }!
                        let copy = BlockCopy(source: layout.storageIndex(row: layoutRow, col: layoutCol)!, sourceStride: group.width,
                                             destination: packed + k * b * height + row - first, destinationStride: height, extent: extent)
                        // The piece continues the previous copy when it follows it in the same panel.
                        if copies.count > firstCopy, let last = copies.last, last.sourceStride == copy.sourceStride,
                           copy.source == last.source + last.extent * (transposed ? 1 : last.sourceStride) {
                            copies[copies.count - 1].extent += extent
                        } else {
                            copies.append(copy)
                        }
                        row += extent
                    }
                }
                packed += columns.count * b * height
            }
            p = end
        }
        blockSize = b
        self.transposed = transposed
        rows = blockRows * b
        cols = blockCols * b
        self.strips = strips
        self.weightOffsets = weightOffsets
        self.inputOffsets = inputOffsets
        self.heights = heights
        uncoveredRows = uncovered
        self.copies = copies
        packedCount = packed
    }
}

extension BlockStripPlan {
    /// Consecutive strips whose packed weights — plus `lowRankColumns` columns of a packed rank-r
    /// factor per operator row — take at most `maximumBytes` together (a strip larger than that
    /// is a group of its own). `apply` runs each group over all of a chunk's batch tiles before
    /// the next group, so a group's weights are read from L2 once per chunk instead of the whole
    /// operator's (1.8–3.1 MB at 768 ↔ 3072 and 1024 ↔ 4096, more than a core's L2) from
    /// memory or L3 once per 64-row tile.
    func stripGroups(maximumBytes: Int, lowRankColumns: Int, scalarSize: Int) -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var first = 0, bytes = 0
        for s in strips.indices {
            let stripBytes = strips[s].height * (strips[s].count * blockSize + lowRankColumns) * scalarSize
            if s > first, bytes + stripBytes > maximumBytes {
                groups.append(first..<s)
                (first, bytes) = (s, 0)
            }
            bytes += stripBytes
        }
        if first < strips.count { groups.append(first..<strips.count) }
        return groups
    }
}
