/// The kept b×b blocks of a `BlockSparseLayout`, numbered for the weight gradient
///
///     dW_t += dy[:, R_t]ᵀ · x[:, C_t]      (one LIBXSMM call per block and chunk of batch rows)
///
/// Block t is the k-th block of block row r of row group g (groups in order, block rows in
/// order, blocks left to right along the group's runs). Its weights and gradient sit in the
/// packed panels at `panelOffset[t]` with leading dimension `panelStride[t]` (the group's
/// width); its block row and column are `row[t]`, `column[t]` (element indices).
struct BlockGradientPlan: Sendable, Equatable {
    let blockSize: Int
    let blockCount: Int
    let panelOffset: [Int]
    let panelStride: [Int]
    let row: [Int]
    let column: [Int]
    /// Distinct panel strides, and per block the index of its stride in that list (the weight
    /// gradient kernel writes into the panel, so its leading dimension is the stride).
    let strides: [Int]
    let strideIndex: [Int]

    init(_ layout: BlockSparseLayout) {
        let b = layout.blockSize
        var panelOffset: [Int] = [], panelStride: [Int] = [], row: [Int] = [], column: [Int] = []
        for group in layout.groups {
            for r in stride(from: 0, to: group.rowCount, by: b) {
                var position = 0
                for run in group.runs {
                    for c in stride(from: run.start, to: run.start + run.count, by: b) {
                        panelOffset.append(group.offset + r * group.width + position)
                        panelStride.append(group.width)
                        row.append(group.rowStart + r)
                        column.append(c)
                        position += b
                    }
                }
            }
        }
        let strides = Array(Set(panelStride)).sorted()
        blockSize = b
        blockCount = panelOffset.count
        self.panelOffset = panelOffset
        self.panelStride = panelStride
        self.row = row
        self.column = column
        self.strides = strides
        strideIndex = panelStride.map { strides.firstIndex(of: $0)! }
    }
}
