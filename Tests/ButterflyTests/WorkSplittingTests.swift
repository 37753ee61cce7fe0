import PixelflyCore
import Synchronization
import Testing

/// `ComputeThreads.partCount` / `partLength` / `forEachPart`: the one rule by which GEMM bands,
/// block-sparse batch bands, element-wise ranges, LayerNorm backward and token mixing split work.
@Suite("Work splitting: one rule for every kernel")
struct WorkSplittingTests {
    @Test func partCountTable() {
        // (work, minimumPerPart, threads) → parts = max(1, min(threads, ⌊work / minimum⌋)).
        let table: [(Int, Int, Int, Int)] = [
            (0, 16, 2, 1), (15, 16, 2, 1), (31, 16, 2, 1), (32, 16, 2, 2), (1000, 16, 2, 2),
            (1000, 16, 8, 8), (100, 16, 8, 6), (16_383, 16_384, 4, 1), (3 * 16_384, 16_384, 4, 3),
            (5, 0, 8, 5), (5, -3, 8, 5), (1_000_000, 1, 1, 1), (7, 1, 3, 3),
        ]
        for (work, minimum, threads, expected) in table {
            #expect(ComputeThreads.partCount(work: work, minimumPerPart: minimum, threads: threads) == expected,
                    "work \(work), minimum \(minimum), threads \(threads)")
        }
    }

    @Test func partLengthTable() {
        // (items, parts, alignment) → ⌈⌈items / parts⌉ / alignment⌉ · alignment.
        let table: [(Int, Int, Int, Int)] = [
            (10, 3, 1, 4), (10, 3, 8, 8), (0, 1, 1, 0), (100, 6, 1, 17), (64, 2, 8, 32), (65, 2, 8, 40), (9, 1, 4, 12),
        ]
        for (items, parts, alignment, expected) in table {
            #expect(ComputeThreads.partLength(items: items, parts: parts, alignment: alignment) == expected,
                    "items \(items), parts \(parts), alignment \(alignment)")
        }
    }

    /// The formulas the kernels used before the rule, written out: the rule reproduces each
    /// split exactly, so results that depend on the split (per-part partial sums) are unchanged.
    @Test func reproducesTheFormerPerKernelFormulas() {
        for threads in 1...8 {
            for size in [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 4097, 65_536] {
                // Block-sparse batch bands: at least 16 rows a band.
                let bands = max(1, min(threads, size / 16))
                #expect(ComputeThreads.partCount(work: size, minimumPerPart: 16, threads: threads) == bands)
                #expect(ComputeThreads.partLength(items: size, parts: bands) == (size + bands - 1) / bands)
                // Dense token mixing: at least one sequence a part.
                #expect(ComputeThreads.partCount(work: size, minimumPerPart: 1, threads: threads) == max(1, min(threads, size)))
                // parallelRanges: at least `minimumLength` elements a range.
                for minimum in [1, 8, 4096] {
                    #expect(ComputeThreads.partCount(work: size, minimumPerPart: minimum, threads: threads)
                            == min(threads, max(1, size / minimum)))
                }
                // LayerNorm backward: rows of n elements, at least 16 384 elements a part.
                for n in [1, 64, 768, 20_000] {
                    let parts = min(threads, max(1, size * n / 16_384))
                    #expect(ComputeThreads.partCount(work: size * n, minimumPerPart: 16_384, threads: threads) == parts)
                }
            }
            // GEMM: bands of ≥ 16 along the longer side; split iff ≥ 2 threads and that side ≥ 32.
            for (m, n) in [(8, 8), (31, 31), (32, 8), (8, 32), (100, 40), (40, 100), (31, 1000), (1000, 31)] {
                let splitRows = m >= n || n < 32
                let extent = splitRows ? m : n
                let formerParts = (threads == 1 || (m < 32 && n < 32)) ? 1 : min(threads, extent / 16)
                #expect(ComputeThreads.partCount(work: extent, minimumPerPart: 16, threads: threads) == formerParts,
                        "m \(m), n \(n), threads \(threads)")
            }
        }
    }

    @Test func forEachPartCoversEveryItemOnceInAlignedOrderedRanges() {
        for (items, minimum, alignment) in [(0, 1, 1), (1, 1, 1), (5, 1, 1), (100, 16, 1), (1000, 7, 8), (65_537, 4096, 8)] {
            let seen = Mutex<[(part: Int, range: Range<Int>)]>([])
            ComputeThreads.forEachPart(items: items, minimumPerPart: minimum, alignment: alignment) { range, part, worker in
                #expect((0..<ComputeThreads.count).contains(worker))
                seen.withLock { $0.append((part, range)) }
            }
            let ranges = seen.withLock { $0 }.sorted { $0.part < $1.part }
            let parts = ComputeThreads.partCount(work: items, minimumPerPart: minimum)
            #expect(ranges.count <= parts)
            #expect(ranges.enumerated().allSatisfy { $0.offset == $0.element.part })
            var next = 0
            for (index, entry) in ranges.enumerated() {
                #expect(!entry.range.isEmpty)
                #expect(entry.range.lowerBound == next)
                if index < ranges.count - 1 { #expect(entry.range.count % alignment == 0) }
                next = entry.range.upperBound
            }
            #expect(next == items, "items \(items), minimum \(minimum)")
        }
    }

    /// `threads` caps the parts below `count`: a caller that sized per-part workspaces for a
    /// thread count it read earlier never sees a part index at or past that count.
    @Test func forEachPartKeepsPartsBelowTheGivenThreadCount() throws {
        try TestThreadCount.set(4)
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        for cap in 1...5 {
            // (parts seen, items covered, the count in force), from a run no other test's
            // thread-count change overlapped (`TestThreadCount.stable`).
            let (parts, covered, threads) = TestThreadCount.stable {
                let parts = Mutex<Set<Int>>([])
                let covered = Mutex(0)
                let threads = ComputeThreads.count
                ComputeThreads.forEachPart(items: 1000, minimumPerPart: 1, threads: cap) { range, part, _ in
                    parts.withLock { _ = $0.insert(part) }
                    covered.withLock { $0 += range.count }
                }
                return (parts.withLock { $0 }, covered.withLock { $0 }, threads)
            }
            #expect(parts.allSatisfy { $0 < cap }, "cap \(cap): parts \(parts)")
            #expect(parts == Set(0..<min(cap, threads)), "cap \(cap), \(threads) threads")
            #expect(covered == 1000)
        }
    }
}
