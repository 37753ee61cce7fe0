/// The one rule by which every kernel of the library splits work over the compute threads.
///
/// A kernel states its work in some unit (multiply-adds of a band, elements, rows, sequences) and
/// the least work worth a thread of its own, `minimumPerPart` units — enough that a part costs
/// clearly more than waking a second thread (a few microseconds). The work is then cut into
///
///     parts = max(1, min(threads, ⌊work / minimumPerPart⌋))
///
/// parts, and the items being split (rows, sequences, elements; `items` may differ from `work`,
/// e.g. rows of n elements each) into contiguous ranges of
///
///     step = ⌈⌈items / parts⌉ / alignment⌉ · alignment
///
/// items: part p covers `p·step ..< min(items, (p + 1)·step)`, every range but the last is a
/// multiple of `alignment` long, and ranges past the end are empty. The split depends only on the
/// sizes and the thread count, never on timing, so a kernel that keeps a partial sum per part is
/// bit-for-bit repeatable for a given thread count.
///
/// The minimums used by the library (the measurements behind them are in the kernels' comments):
/// GEMM bands 16 rows (and products under 2¹⁸ multiply-adds stay on one thread), block-sparse
/// batch bands 16 rows, element-wise kernels 16 384 or 32 768 elements, LayerNorm backward
/// 16 384 elements, dense token mixing one sequence, the LIBXSMM block-sparse and low-rank
/// kernels one batch tile or feature chunk, the cross-entropy's rows 16 384 logits. (Work cut
/// into uneven pieces in advance — AdamW's pieces, one task per parameter for the clipping — is
/// claimed task by task with `parallelFor` instead.)
extension ComputeThreads {
    /// `max(1, min(threads, ⌊work / minimumPerPart⌋))`: how many parts `work` units are cut into
    /// (`minimumPerPart` < 1 counts as 1; `threads` defaults to `count`).
    @inlinable
    public static func partCount(work: Int, minimumPerPart: Int, threads: Int = ComputeThreads.count) -> Int {
        max(1, min(threads, work / max(minimumPerPart, 1)))
    }

    /// `⌈⌈items / parts⌉ / alignment⌉ · alignment`: the items in each part but the last.
    @inlinable
    public static func partLength(items: Int, parts: Int, alignment: Int = 1) -> Int {
        let parts = max(parts, 1), alignment = max(alignment, 1)
        return ((items + parts - 1) / parts + alignment - 1) / alignment * alignment
    }

    /// Cuts `0..<items` by the rule (with `work` units of work, default `items`, and at most
    /// `threads` parts, default `count`) and runs `body(range, part, worker)` on every non-empty
    /// range in parallel; `part` numbers the ranges in order, `worker` is the executing thread
    /// (as in `parallelFor`). One part runs on the calling thread. A caller that sized per-part
    /// workspaces for a thread count read earlier passes that count as `threads`, so that `part`
    /// stays below it even if another thread changes `count` meanwhile.
    @inlinable
    public static func forEachPart(items: Int, work: Int? = nil, minimumPerPart: Int, alignment: Int = 1,
                                   threads: Int = ComputeThreads.count,
                                   _ body: (_ range: Range<Int>, _ part: Int, _ worker: Int) -> Void) {
        if items <= 0 { return }
        let parts = partCount(work: work ?? items, minimumPerPart: minimumPerPart, threads: min(threads, count))
        let step = partLength(items: items, parts: parts, alignment: alignment)
        parallelFor((items + step - 1) / step) { part, worker in
            body(part * step..<min(items, (part + 1) * step), part, worker)
        }
    }
}
