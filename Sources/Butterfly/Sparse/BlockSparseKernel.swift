#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// The three products of a block-sparse matrix S (rows × cols, packed per `BlockSparseLayout`)
/// with a batch, each as one or a few large OpenBLAS GEMMs per row group
/// (`BlockSparseBackend.openBLAS`; `BlockSparseXSMMKernel` is the LIBXSMM backend).
///
/// All matrices are row-major; `x` is (batch, cols), `y` is (batch, rows). Per row group g with
/// rows R, runs C₁…C_r and panel P (|R| × width):
///
///     forward        y[:, R]   = x[:, C₁ ∪ … ∪ C_r] · Pᵀ        (one GEMM, k = width)
///     input grad     dx[:, Cᵢ] += dy[:, R] · P[:, Cᵢ]             (one GEMM per run, k = |R|)
///     weight grad    dP[:, Cᵢ] += dy[:, R]ᵀ · x[:, Cᵢ]             (one GEMM per run, k = batch)
///
/// A forward over a group with several runs either gathers the runs' columns of x into a
/// contiguous workspace (one GEMM with k = width) or accumulates one GEMM per run into y; it
/// picks whichever moves fewer elements (`gathers(_:)`).
///
/// The batch is processed in chunks of `chunkRows` rows: every group's GEMM then re-packs a
/// chunk of x that is still in cache instead of streaming the whole batch from memory once per
/// group. Measured at 1024→4096, batch 4096, 1 thread: forward 466 → 334 ms (notebooks-md/
/// layer-speedups.md).
///
/// Threads (`ComputeThreads`): the forward and the input gradient split the batch into one band
/// of rows per thread (each band runs the chunk loop above with its own gather workspace); the
/// weight gradient hands out row groups, whose panel gradients are disjoint. Every BLAS call is
/// single-threaded, on the thread that makes it.
enum BlockSparseKernel {
    static let chunkRows = 512

    /// A dense rank-k term added inside the chunk loop while its output is still in cache:
    /// `a` is (batch, k) with row stride `lda`; `b` is the other factor, row stride `ldb`.
    /// Forward adds `a·bᵀ` with b (rows, k); the input gradient adds `a·b` with b (k, cols).
    struct LowRankTerm<S> {
        var a: UnsafePointer<S>
        var lda: Int
        var b: UnsafePointer<S>
        var ldb: Int
        var k: Int
    }

    typealias Group = BlockSparseLayout.PlannedGroup

    /// Gathering copies batch·width elements; accumulating re-reads and re-writes
    /// batch·rowCount elements of y per extra run. Gather when that is cheaper.
    static func gathers(_ group: Group) -> Bool {
        group.runCount > 1 && group.width < 2 * group.rowCount * (group.runCount - 1)
    }

    static func gathers(_ group: BlockSparseLayout.RowGroup) -> Bool {
        gathers(Group(rowStart: group.rowStart, rowCount: group.rowCount, width: group.width, offset: group.offset,
                      firstRun: 0, runCount: group.runs.count))
    }

    /// Rows per thread band: the batch split evenly over the threads, at least 16 rows a band.
    static func bandRows(batch: Int) -> Int {
        ComputeThreads.partLength(items: batch, parts: ComputeThreads.partCount(work: batch, minimumPerPart: 16))
    }

    /// Workspace elements the forward needs for `batch` rows (one chunk per thread).
    static func forwardWorkspaceCount(_ layout: BlockSparseLayout, batch: Int) -> Int {
        var width = 0
        let plan = layout.plan
        for g in plan.indices where gathers(plan[g]) { width = max(width, plan[g].width) }
        return min(bandRows(batch: batch), chunkRows) * width * ComputeThreads.count
    }

    /// y = x·Sᵀ + β·y (+ a·bᵀ for a low-rank term). `workspace` holds
    /// `forwardWorkspaceCount(layout, batch:)` elements.
    static func forward<S: TensorScalar>(
        _ layout: BlockSparseLayout, panels: UnsafePointer<S>, x: UnsafePointer<S>, batch: Int,
        y: UnsafeMutablePointer<S>, beta: S, workspace: UnsafeMutablePointer<S>?, lowRank: LowRankTerm<S>? = nil
    ) {
        let band = bandRows(batch: batch)
        let slot = forwardWorkspaceCount(layout, batch: batch) / ComputeThreads.count
        ComputeThreads.parallelFor((batch + band - 1) / band) { part, worker in
            let space = workspace.map { $0 + worker * slot }
            for start in stride(from: part * band, to: min(batch, (part + 1) * band), by: chunkRows) {
                let chunk = min(chunkRows, min(batch, (part + 1) * band) - start)
                let term = lowRank.map { LowRankTerm(a: $0.a + start * $0.lda, lda: $0.lda, b: $0.b, ldb: $0.ldb, k: $0.k) }
                forwardChunk(layout, panels: panels, x: x + start * layout.cols, batch: chunk,
                             y: y + start * layout.rows, beta: beta, workspace: space, lowRank: term)
            }
        }
    }

    private static func forwardChunk<S: TensorScalar>(
        _ layout: BlockSparseLayout, panels: UnsafePointer<S>, x: UnsafePointer<S>, batch: Int,
        y: UnsafeMutablePointer<S>, beta: S, workspace: UnsafeMutablePointer<S>?, lowRank: LowRankTerm<S>?
    ) {
        let (rows, cols, runs) = (layout.rows, layout.cols, layout.plannedRuns)
        let plan = layout.plan
        for g in plan.indices {
            let group = plan[g]
            let panel = panels + group.offset
            let output = y + group.rowStart
            if gathers(group), let workspace {
                gather(group, runs, from: x, cols: cols, batch: batch, into: workspace)
                S.gemm(.none, .transposed, m: batch, n: group.rowCount, k: group.width,
                       alpha: 1, a: workspace, lda: group.width, b: panel, ldb: group.width,
                       beta: beta, c: output, ldc: rows)
            } else {
                for r in group.firstRun..<(group.firstRun + group.runCount) {
                    S.gemm(.none, .transposed, m: batch, n: group.rowCount, k: runs[r].count,
                           alpha: 1, a: x + runs[r].start, lda: cols, b: panel + runs[r].position, ldb: group.width,
                           beta: r == group.firstRun ? beta : 1, c: output, ldc: rows)
                }
            }
        }
        // Rows of S with no stored block: y = β·y there.
        let uncovered = layout.uncoveredRows
        if beta == 0 {
            for u in uncovered.indices {
                let range = uncovered[u]
                for row in 0..<batch { memset(y + row * rows + range.lowerBound, 0, range.count * MemoryLayout<S>.stride) }
            }
        }
        // One GEMM over the whole chunk (n = rows is wide; per-group calls were too narrow).
        if let term = lowRank {
            S.gemm(.none, .transposed, m: batch, n: rows, k: term.k, alpha: 1, a: term.a, lda: term.lda,
                   b: term.b, ldb: term.ldb, beta: 1, c: y, ldc: rows)
        }
    }

    /// dx = dy·S (+ a·b for a low-rank term), overwriting dx.
    static func inputGradient<S: TensorScalar>(
        _ layout: BlockSparseLayout, panels: UnsafePointer<S>, dy: UnsafePointer<S>, batch: Int,
        dx: UnsafeMutablePointer<S>, lowRank: LowRankTerm<S>? = nil
    ) {
        let band = bandRows(batch: batch)
        ComputeThreads.parallelFor((batch + band - 1) / band) { part, _ in
            inputGradientBand(layout, panels: panels, dy: dy, rows: (part * band)..<min(batch, (part + 1) * band),
                              dx: dx, lowRank: lowRank)
        }
    }

    /// `inputGradient` for the batch rows `band`, chunk by chunk.
    private static func inputGradientBand<S: TensorScalar>(
        _ layout: BlockSparseLayout, panels: UnsafePointer<S>, dy: UnsafePointer<S>, rows band: Range<Int>,
        dx: UnsafeMutablePointer<S>, lowRank: LowRankTerm<S>?
    ) {
        let (runs, plan, rows, cols) = (layout.plannedRuns, layout.plan, layout.rows, layout.cols)
        memset(dx + band.lowerBound * cols, 0, band.count * cols * MemoryLayout<S>.stride)
        for start in stride(from: band.lowerBound, to: band.upperBound, by: chunkRows) {
            let chunk = min(chunkRows, band.upperBound - start)
            for g in plan.indices {
                let group = plan[g]
                for r in group.firstRun..<(group.firstRun + group.runCount) {
                    S.gemm(.none, .none, m: chunk, n: runs[r].count, k: group.rowCount,
                           alpha: 1, a: dy + start * rows + group.rowStart, lda: rows,
                           b: panels + group.offset + runs[r].position, ldb: group.width,
                           beta: 1, c: dx + start * cols + runs[r].start, ldc: cols)
                }
            }
            if let lowRank {
                S.gemm(.none, .none, m: chunk, n: cols, k: lowRank.k, alpha: 1, a: lowRank.a + start * lowRank.lda,
                       lda: lowRank.lda, b: lowRank.b, ldb: lowRank.ldb, beta: 1, c: dx + start * cols, ldc: cols)
            }
        }
    }

    /// dP += dyᵀ·x restricted to the stored blocks.
    static func accumulateWeightGradient<S: TensorScalar>(
        _ layout: BlockSparseLayout, dy: UnsafePointer<S>, x: UnsafePointer<S>, batch: Int,
        panelGradients: UnsafeMutablePointer<S>
    ) {
        let runs = layout.plannedRuns
        let plan = layout.plan
        ComputeThreads.parallelFor(plan.count) { g, _ in
            let group = plan[g]
            for r in group.firstRun..<(group.firstRun + group.runCount) {
                S.gemm(.transposed, .none, m: group.rowCount, n: runs[r].count, k: batch,
                       alpha: 1, a: dy + group.rowStart, lda: layout.rows, b: x + runs[r].start, ldb: layout.cols,
                       beta: 1, c: panelGradients + group.offset + runs[r].position, ldc: group.width)
            }
        }
    }

    /// workspace (batch × width) ← the group's runs of x, side by side.
    private static func gather<S>(_ group: Group, _ runs: [BlockSparseLayout.PlannedRun], from x: UnsafePointer<S>,
                                  cols: Int, batch: Int, into workspace: UnsafeMutablePointer<S>) {
        let stride = MemoryLayout<S>.stride
        for row in 0..<batch {
            let source = x + row * cols
            let destination = workspace + row * group.width
            for r in group.firstRun..<(group.firstRun + group.runCount) {
                memcpy(destination + runs[r].position, source + runs[r].start, runs[r].count * stride)
            }
        }
    }
}
