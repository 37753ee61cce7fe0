/// The weight gradient of a `BlockSparseLayout` cut into tiles for LIBXSMM:
///
///     dW[rows, cols] += dy[:, rows]ᵀ · x[:, cols]      (one call per tile and chunk of batch rows)
///
/// A tile is up to `maximumRows` rows of one row group (a multiple of b) by one block column b
/// of one of its runs, so its gradient is a contiguous rectangle of the group's panel: it starts
/// at `panelOffset[t]` with leading dimension `panelStride[t]` (the group's width). As a
/// column-major product, C (b × rows, ldc = width) += A · B with A the tile's block column of x,
/// packed block by block per chunk (`XSMMKernelSet.inputPack`, lda = b), and B the tile's dy
/// rows transposed (`XSMMKernelSet.transposeScratch`). Rows beyond b give the kernel more output
/// per loaded input element; columns beyond b would need x packed in wider, overlapping pieces
/// (runs start at any block), and measured no faster (C microbenchmark, Intel Xeon `cpx`,
/// 256-row chunks: m = 32 and 64 at 114–120 GFLOP/s).
///
/// The bias gradient db += Σ_batch dy rides along: the first tile of each row range (its first
/// run's first columns, `sumsBias[t]`) also sums its dy rows, db[rows] += dy[:, rows]ᵀ·1, while
/// they are in cache from the tile's GEMM; rows outside every group are `layout.uncoveredRows`.
struct BlockGradientPlan: Sendable, Equatable {
    struct Shape: Hashable, Sendable {
        /// Tile columns (m), rows (n) and the panel's leading dimension.
        var columns: Int, rows: Int, stride: Int
    }

    let blockSize: Int
    let tileCount: Int
    let panelOffset: [Int]
    let row: [Int]
    let column: [Int]
    let shapes: [Shape]
    let shapeIndex: [Int]
    let sumsBias: [Bool]

    init(_ layout: BlockSparseLayout, maximumRows: Int = 64) {
        let b = layout.blockSize
        let rowStep = max(b, maximumRows / b * b)
        var panelOffset: [Int] = [], row: [Int] = [], column: [Int] = [], shapeIndex: [Int] = []
        var shapes: [Shape] = []
        var sumsBias: [Bool] = []
        for group in layout.groups {
            for r in stride(from: 0, to: group.rowCount, by: rowStep) {
                let rows = min(rowStep, group.rowCount - r)
                var position = 0
                for (runIndex, run) in group.runs.enumerated() {
                    for c in stride(from: 0, to: run.count, by: b) {
                        sumsBias.append(runIndex == 0 && c == 0)
                        let shape = Shape(columns: b, rows: rows, stride: group.width)
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
        blockSize = b
        tileCount = panelOffset.count
        self.panelOffset = panelOffset
        self.row = row
        self.column = column
        self.shapes = shapes
        self.shapeIndex = shapeIndex
        self.sumsBias = sumsBias
    }
}
