import Foundation
import PixelflyCore
import Synchronization
import Testing

/// `ComputeThreads.count` is read atomically and set through `setCount(_:)`, which refuses
/// values below 1 and calls from inside a region's task (where waiting for the region to end
/// would never finish). These tests never change the count, so other suites running in parallel
/// keep theirs.
@Suite("ComputeThreads: setting the thread count")
struct ComputeThreadsCountTests {
    @Test func refusesFewerThanOneThread() {
        let before = ComputeThreads.count
        #expect(throws: ConfigurationError.self) { try ComputeThreads.setCount(0) }
        #expect(throws: ConfigurationError.self) { try ComputeThreads.setCount(-3) }
        #expect(ComputeThreads.count == before)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.activeProcessorCount >= 2, "a region runs in parallel only with two or more cores"))
    func refusesInsideARegionInsteadOfDeadlocking() async throws {
        // A region runs on the pool only when no other region (another suite's) holds it and the
        // count is at least 2 (other suites set it to 1 for a while); retry until one did (a task
        // ran on worker 1 or above). Every task of such a region runs on a thread inside it, so
        // every call is refused. Between tries the test sleeps, so that the other suites' regions
        // (which hold the pool for long stretches under `make test`) leave it a gap; suites that
        // lower the count for a while return to `defaultCount` afterwards.
        for attempt in 0..<5_000 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(2)) }
            if ComputeThreads.count < 2 { continue }
            let refused = Atomic<Int>(0), onWorkers = Atomic<Int>(0)
            ComputeThreads.parallelFor(8) { _, worker in
                if worker > 0 { onWorkers.add(1, ordering: .relaxed) }
                do { try ComputeThreads.setCount(ComputeThreads.count) } catch is ConfigurationError {
                    refused.add(1, ordering: .relaxed)
                } catch {}
            }
            if onWorkers.load(ordering: .relaxed) > 0 {
                #expect(refused.load(ordering: .relaxed) == 8)
                return
            }
        }
        Issue.record("no region of 8 tasks ran in parallel in 5 000 tries")
    }

    /// One thread re-sets the (unchanged) count over and over while others read it and run
    /// regions: reads always see a valid count and every region completes.
    @Test func readsDuringResizeSeeAValidCount() async {
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let count = ComputeThreads.defaultCount
        let done = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for _ in 0..<2_000 { try? ComputeThreads.setCount(count) }
                done.value.store(true, ordering: .releasing)
            }
            for _ in 0..<2 {
                group.addTask {
                    while !done.value.load(ordering: .acquiring) {
                        // Other suites may set their own count meanwhile; any read is a valid one.
                        #expect(ComputeThreads.count >= 1)
                        let sum = Atomic<Int>(0)
                        ComputeThreads.parallelRanges(1000, minimumLength: 10, alignment: 1) { range in
                            sum.add(range.count, ordering: .relaxed)
                        }
                        #expect(sum.load(ordering: .relaxed) == 1000)
                    }
                }
            }
        }
    }
}
