/// The weight gradient of a `BlockSparseLayout` cut into tiles for LIBXSMM:
///
///     dW[rows, cols] += dy[:, rows]ᵀ · x[:, cols]      (one call per tile and chunk of batch rows)
///
/// A tile is up to `maximumRows` rows of one row group by up to `maximumColumns` columns of one
/// of its runs (multiples of b), so its gradient is a contiguous rectangle of the group's panel:
/// it starts at `panelOffset[t]` with leading dimension `panelStride[t]` (the group's width).
/// As a column-major product, C (columns × rows, ldc = width) += A · B with A = x (lda = in)
/// read in place and B the tile's dy rows transposed (`XSMMKernelSet.transposeScratch`). Larger
/// tiles than b × b give the kernel more output per loaded input element.
///
/// The bias gradient db += Σ_batch dy rides along: the first tile of each row range (its first
/// run's first columns, `sumsBias[t]`) also sums its dy rows, db[rows] += dy[:, rows]ᵀ·1, while
/// they are in cache from the tile's GEMM; rows outside every group are `layout.uncoveredRows`.
struct BlockGradientPlan: Sendable, Equatable {
    struct Shape: Hashable, Sendable {
        /// Tile columns (m), rows (n) and the panel's leading dimension.
        var columns: Int, rows: Int, stride: Int
    }

    let tileCount: Int
    let panelOffset: [Int]
    let row: [Int]
    let column: [Int]
    let shapes: [Shape]
    let shapeIndex: [Int]
    let sumsBias: [Bool]

    init(_ layout: BlockSparseLayout, maximumRows: Int = 64, maximumColumns: Int = 64) {
        let b = layout.blockSize
        let rowStep = max(b, maximumRows / b * b), columnStep = max(b, maximumColumns / b * b)
        var panelOffset: [Int] = [], row: [Int] = [], column: [Int] = [], shapeIndex: [Int] = []
        var shapes: [Shape] = []
        var sumsBias: [Bool] = []
        for group in layout.groups {
            for r in stride(from: 0, to: group.rowCount, by: rowStep) {
                let rows = min(rowStep, group.rowCount - r)
                var position = 0
                for (runIndex, run) in group.runs.enumerated() {
                    for c in stride(from: 0, to: run.count, by: columnStep) {
                        sumsBias.append(runIndex == 0 && c == 0)
                        let shape = Shape(columns: min(columnStep, run.count - c), rows: rows, stride: group.width)
                        if !shapes.contains(shape) { shapes.append(shape) }
                        shapeIndex.append(shapes.firstIndex(of: shape)!)
                        panelOffset.append(group.offset + r * group.width + position + c)
                        row.append(group.rowStart + r)
                        column.append(run.start + c)
                    }
                    position += run.count
                }
            }
        }
        tileCount = panelOffset.count
        self.panelOffset = panelOffset
        self.row = row
        self.column = column
        self.shapes = shapes
        self.shapeIndex = shapeIndex
        self.sumsBias = sumsBias
    }
}
