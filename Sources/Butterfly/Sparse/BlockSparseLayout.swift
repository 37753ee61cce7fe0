import PixelflyCore

/// Where the nonzero blocks of a block-sparse (rows × cols) matrix live, arranged for few, large
/// GEMMs.
///
/// Consecutive block rows with the same set of kept block columns form a **row group**. A row
/// group's kept columns split into maximal contiguous **runs**. The group's weights are stored
/// as one dense row-major panel of `rowCount × width` (width = Σ run lengths), the runs side by
/// side, so one GEMM covers the whole group: `y[:, rows] = x[:, runs] · panelᵀ`.
///
/// For an unshuffled flat butterfly mask whose tiles are whole blocks, a row group is a
/// stretched tile-row (K+1 tiles, all inside one super-block), so a product takes B GEMMs of
/// size batch × (out/B) × ((K+1)·in/B) instead of one call per b×b block.
public struct BlockSparseLayout: Sendable, Equatable {
    /// Columns `start ..< start + count` of the matrix.
    public struct ColumnRun: Sendable, Equatable {
        public var start: Int
        public var count: Int
    }

    /// Rows `rowStart ..< rowStart + rowCount` keep exactly the columns of `runs`; their panel
    /// starts at `offset` in the packed storage.
    public struct RowGroup: Sendable, Equatable {
        public var rowStart: Int
        public var rowCount: Int
        public var runs: [ColumnRun]
        public var width: Int
        public var offset: Int
    }

    public let rows: Int
    public let cols: Int
    public let blockSize: Int
    /// Kept blocks, row-major over (rows/b) × (cols/b).
    public let blocks: [Bool]
    public let groups: [RowGroup]
    /// Stored elements: Σ rowCount · width.
    public let storedCount: Int
    /// Largest group width (sizes the gather workspace).
    public let maxWidth: Int
    /// Row ranges with no stored block (their output is zero, or the bias).
    public let uncoveredRows: [Range<Int>]
    /// The groups and their runs as plain values, for the kernels' loops.
    let plan: [PlannedGroup]
    let plannedRuns: [PlannedRun]

    /// A row group without its run array (trivially copyable).
    struct PlannedGroup: Equatable, Sendable {
        var rowStart: Int, rowCount: Int, width: Int, offset: Int, firstRun: Int, runCount: Int
    }

    /// One run of a group: columns `start ..< start + count` of the matrix, at column
    /// `position` of the group's panel.
    struct PlannedRun: Equatable, Sendable {
        var start: Int, count: Int, position: Int
    }

    /// A layout from a block mask; throws `ShapeError` if b does not divide both sizes or the
    /// mask has the wrong length.
    public init(rows: Int, cols: Int, blockSize: Int, blocks: [Bool]) throws {
        guard blockSize > 0, rows > 0, cols > 0, rows % blockSize == 0, cols % blockSize == 0 else {
            throw ShapeError("BlockSparseLayout", "block size \(blockSize) must be positive and divide both \(rows) and \(cols)")
        }
        let (blockRows, blockCols) = (rows / blockSize, cols / blockSize)
        guard blocks.count == blockRows * blockCols else {
            throw ShapeError("BlockSparseLayout", "a \(blockRows)×\(blockCols) block mask needs \(blockRows * blockCols) entries, got \(blocks.count)")
        }
        self.rows = rows
        self.cols = cols
        self.blockSize = blockSize
        self.blocks = blocks
        var groups: [RowGroup] = []
        var offset = 0
        var r = 0
        while r < blockRows {
            let pattern = blocks[(r * blockCols)..<((r + 1) * blockCols)]
            var end = r + 1
            while end < blockRows, blocks[(end * blockCols)..<((end + 1) * blockCols)] == pattern { end += 1 }
            var runs: [ColumnRun] = []
            for c in 0..<blockCols where pattern[pattern.startIndex + c] {
                if let last = runs.last, last.start + last.count == c * blockSize {
                    runs[runs.count - 1].count += blockSize
                } else {
                    runs.append(ColumnRun(start: c * blockSize, count: blockSize))
                }
            }
            let width = runs.reduce(0) { $0 + $1.count }
            let rowCount = (end - r) * blockSize
            if width > 0 {
                groups.append(RowGroup(rowStart: r * blockSize, rowCount: rowCount, runs: runs, width: width, offset: offset))
                offset += rowCount * width
            }
            r = end
        }
        self.groups = groups
        storedCount = offset
        maxWidth = groups.map(\.width).max() ?? 0
        var uncovered: [Range<Int>] = []
        var covered = 0
        for (start, count) in groups.map({ ($0.rowStart, $0.rowCount) }) + [(rows, 0)] {
            if start > covered { uncovered.append(covered..<start) }
            covered = start + count
        }
        uncoveredRows = uncovered
        var plan: [PlannedGroup] = []
        var plannedRuns: [PlannedRun] = []
        for group in groups {
            plan.append(PlannedGroup(rowStart: group.rowStart, rowCount: group.rowCount, width: group.width,
                                     offset: group.offset, firstRun: plannedRuns.count, runCount: group.runs.count))
            var position = 0
            for run in group.runs {
                plannedRuns.append(PlannedRun(start: run.start, count: run.count, position: position))
                position += run.count
            }
        }
        self.plan = plan
        self.plannedRuns = plannedRuns
    }

    /// The layout of a flat butterfly mask.
    public init(mask: FlatButterflyMask) {
        // The mask guarantees b divides both sizes and the block count is right.
        try! self.init(rows: mask.outputFeatures, cols: mask.inputFeatures,
                       blockSize: mask.configuration.blockSize, blocks: mask.blocks)
    }

    /// Every b×b block kept: a dense (rows × cols) matrix on the block-sparse kernels. Its
    /// packed storage is one row group of one run, the row-major (rows, cols) matrix itself.
    ///
    /// A layer on it is the dense layer the LIBXSMM strips can run: with AVX-512 code on an AMD
    /// Zen 4 it ran forward + backward at 0.93–1.01× OpenBLAS's dense time (b = 32 at 1024 ↔
    /// 4096, b = 48 at 768 ↔ 3072; notebooks-md/kernel-passes/41-dense-on-the-block-kernel.md),
    /// so the bench times it beside `DenseLinear` and holds the sparse layers to the faster.
    /// Throws `ShapeError` if b does not divide both sizes.
    public static func full(rows: Int, cols: Int, blockSize: Int) throws -> BlockSparseLayout {
        guard rows > 0, cols > 0 else {
            throw ShapeError("BlockSparseLayout.full", "sizes must be positive, got \(rows)×\(cols)")
        }
        guard blockSize > 0, rows % blockSize == 0, cols % blockSize == 0 else {
            throw ShapeError("BlockSparseLayout.full", "block size \(blockSize) must be positive and divide both \(rows) and \(cols) "
                + "(divisors of both: \(commonDivisors(rows, cols).map(String.init).joined(separator: ", ")))")
        }
        return try BlockSparseLayout(rows: rows, cols: cols, blockSize: blockSize,
                                     blocks: Array(repeating: true, count: (rows / blockSize) * (cols / blockSize)))
    }

    /// The common divisors of two positive sizes, for error messages.
    private static func commonDivisors(_ a: Int, _ b: Int) -> [Int] {
        (1...min(a, b)).filter { a % $0 == 0 && b % $0 == 0 }
    }

    /// Whether every block is kept (`full(rows:cols:blockSize:)`).
    public var isFull: Bool { storedCount == rows * cols }

    /// Index in the packed storage of element (row, col), or nil if it is not stored.
    public func storageIndex(row: Int, col: Int) -> Int? {
        guard let group = groups.first(where: { row >= $0.rowStart && row < $0.rowStart + $0.rowCount }) else { return nil }
        var position = 0
        for run in group.runs {
            if col >= run.start && col < run.start + run.count {
                return group.offset + (row - group.rowStart) * group.width + position + (col - run.start)
            }
            position += run.count
        }
        return nil
    }

    /// Kept blocks ÷ all blocks.
    public var density: Double { Double(storedCount) / Double(rows * cols) }
}
