/// The kept b×b blocks of a `BlockSparseLayout`, numbered and listed for batch-reduce GEMMs.
///
/// Block t is the k-th block of block row r of row group g (groups in order, block rows in
/// order, blocks left to right along the group's runs). Its weights sit in the packed panel at
/// `panelOffset[t]` with leading dimension `panelStride[t]` (the group's width). Two block-wise
/// copies of the panels are packed per pass (`BlockSparseXSMMKernel.pack`), b² elements per
/// block at t·b²: the **forward** copy holds block t transposed (column-major b×b, output index
/// fastest), the **backward** copy holds it as stored (input index fastest). Byte offsets into
/// those copies and into x / dy drive the LIBXSMM batch-reduce kernels:
///
///     forward, block row R:      y[:, R]  = Σ_{t in R}  x[:, C_t] · W_tᵀ
///     input grad, block col C:   dx[:, C] = Σ_{t in C} dy[:, R_t] · W_t
///     weight grad, block t:      dW_t    += dy[:, R_t]ᵀ · x[:, C_t]
struct BlockSparseBlockPlan: Sendable, Equatable {
    /// One list of blocks reduced into one output block: `count` entries from `start` in the
    /// offset arrays; the output block starts at column `outputColumn` of y (or dx).
    struct Reduction: Sendable, Equatable {
        var start: Int, count: Int, outputColumn: Int
    }

    let blockSize: Int
    let blockCount: Int
    /// Per block t: element offset of its top-left weight in the packed panels, the panel's
    /// leading dimension, and its block row / column as element indices (row·b, col·b).
    let panelOffset: [Int]
    let panelStride: [Int]
    let row: [Int]
    let column: [Int]
    /// Forward: one reduction per kept block row. Offsets in bytes (for `Scalar` of `scalarSize`):
    /// into the forward copy and into one row of x.
    let forwardRows: [Reduction]
    let forwardWeightOffsets: [UInt64]
    let forwardInputOffsets: [UInt64]
    /// Input gradient: one reduction per kept block column; offsets into the weights it reads
    /// and into one row of dy. With `backwardInPlace` (every group has the same width) the
    /// weights are the panels themselves, read with leading dimension `strides[0]`; otherwise
    /// the backward copy, leading dimension b.
    let backwardInPlace: Bool
    let gradientColumns: [Reduction]
    let gradientWeightOffsets: [UInt64]
    let gradientInputOffsets: [UInt64]
    /// Column ranges of dx that no block touches (set to zero).
    let uncoveredColumns: [Range<Int>]
    /// Distinct panel strides, and per block the index of its stride in that list (the weight
    /// gradient kernel writes into the panel, so its leading dimension is the stride).
    let strides: [Int]
    let strideIndex: [Int]

    init(_ layout: BlockSparseLayout, scalarSize: Int) {
        let b = layout.blockSize
        var panelOffset: [Int] = [], panelStride: [Int] = [], row: [Int] = [], column: [Int] = []
        var forwardRows: [Reduction] = []
        var forwardWeightOffsets: [UInt64] = [], forwardInputOffsets: [UInt64] = []
        for group in layout.groups {
            for r in stride(from: 0, to: group.rowCount, by: b) {
                forwardRows.append(Reduction(start: forwardWeightOffsets.count, count: group.width / b,
                                             outputColumn: group.rowStart + r))
                var position = 0
                for run in group.runs {
                    for c in stride(from: run.start, to: run.start + run.count, by: b) {
                        forwardWeightOffsets.append(UInt64(panelOffset.count * b * b * scalarSize))
                        forwardInputOffsets.append(UInt64(c * scalarSize))
                        panelOffset.append(group.offset + r * group.width + position)
                        panelStride.append(group.width)
                        row.append(group.rowStart + r)
                        column.append(c)
                        position += b
                    }
                }
            }
        }
        // Blocks by column (stable in t, so each column's blocks are in row order).
        let blockColumns = layout.cols / b
        var byColumn = [[Int]](repeating: [], count: blockColumns)
        for t in column.indices { byColumn[column[t] / b].append(t) }
        let backwardInPlace = Set(panelStride).count <= 1
        var gradientColumns: [Reduction] = []
        var gradientWeightOffsets: [UInt64] = [], gradientInputOffsets: [UInt64] = []
        var uncovered: [Range<Int>] = []
        for c in 0..<blockColumns {
            if byColumn[c].isEmpty {
                if let last = uncovered.last, last.upperBound == c * b {
                    uncovered[uncovered.count - 1] = last.lowerBound..<((c + 1) * b)
                } else {
                    uncovered.append((c * b)..<((c + 1) * b))
                }
                continue
            }
            gradientColumns.append(Reduction(start: gradientWeightOffsets.count, count: byColumn[c].count, outputColumn: c * b))
            for t in byColumn[c] {
                gradientWeightOffsets.append(UInt64((backwardInPlace ? panelOffset[t] : t * b * b) * scalarSize))
                gradientInputOffsets.append(UInt64(row[t] * scalarSize))
            }
        }
        let strides = Array(Set(panelStride)).sorted()
        blockSize = b
        blockCount = panelOffset.count
        self.panelOffset = panelOffset
        self.panelStride = panelStride
        self.row = row
        self.column = column
        self.forwardRows = forwardRows
        self.forwardWeightOffsets = forwardWeightOffsets
        self.forwardInputOffsets = forwardInputOffsets
        self.backwardInPlace = backwardInPlace
        self.gradientColumns = gradientColumns
        self.gradientWeightOffsets = gradientWeightOffsets
        self.gradientInputOffsets = gradientInputOffsets
        uncoveredColumns = uncovered
        self.strides = strides
        strideIndex = panelStride.map { strides.firstIndex(of: $0)! }
    }

    /// Elements of one packed block-wise copy.
    var packedCount: Int { blockCount * blockSize * blockSize }

    /// Leading dimension of the weights the input-gradient kernels read.
    var backwardLeadingDimension: Int { backwardInPlace ? (strides.first ?? blockSize) : blockSize }
}
