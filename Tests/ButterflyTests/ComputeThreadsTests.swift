import AllocationCounter
import PixelflyCore
import Synchronization
import Testing

@Suite("ComputeThreads: parallel regions and banded GEMM")
struct ComputeThreadsTests {
    @Test func everyTaskRunsExactlyOnceWithDistinctConcurrentWorkers() {
        for taskCount in [0, 1, 2, 3, 7, 64, 1000] {
            let runs = UnsafeMutablePointer<Int>.allocate(capacity: max(taskCount, 1))
            runs.initialize(repeating: 0, count: max(taskCount, 1))
            defer { runs.deallocate() }
            let busyWorkers = Mutex<Set<Int>>([])
            let clash = Atomic<Bool>(false)
            ComputeThreads.parallelFor(taskCount) { task, worker in
                #expect((0..<ComputeThreads.count).contains(worker))
                let fresh = busyWorkers.withLock { $0.insert(worker).inserted }
                if !fresh { clash.store(true, ordering: .relaxed) }
                runs[task] += 1
                busyWorkers.withLock { _ = $0.remove(worker) }
            }
            #expect((0..<taskCount).allSatisfy { runs[$0] == 1 }, "\(taskCount) tasks")
            let clashed = clash.load(ordering: .relaxed)
            #expect(!clashed, "two running tasks shared a worker index")
        }
    }

    /// Many tiny regions back to back, from three callers at once (more threads than cores, so
    /// workers get preempted): every task of every region runs exactly once, through its own
    /// region's body. A worker that wakes late must neither run a finished region's body nor take
    /// the next region's tasks early (`WorkerPool.openGeneration`). The race that motivated this
    /// needs a preemption inside a window of a few instructions: it showed up as one crash
    /// (`body!` was nil) and one wrong Monarch gradient in about 20 runs of the kernel-family
    /// suites under load, and this test did not catch it in 7 runs of the old pool — it guards the
    /// pool's counting, not that exact interleaving.
    @Test func backToBackRegionsNeverMixBodies() async {
        let regions = 100_000, tasks = 3
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: regions * tasks)
                    for i in 0..<regions * tasks { (counts + i).initialize(to: Atomic<Int>(0)) }
                    defer { counts.deallocate() }
                    for region in 0..<regions {
                        ComputeThreads.parallelFor(tasks) { task, _ in
                            counts[region * tasks + task].add(1, ordering: .relaxed)
                        }
                    }
                    return (0..<regions * tasks).allSatisfy { counts[$0].load(ordering: .relaxed) == 1 }
                }
            }
            for await exact in group { #expect(exact, "a task ran zero or several times, or through another region's body") }
        }
    }

    @Test func nestedAndConcurrentRegionsComplete() async {
        await withTaskGroup(of: Int.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    let total = Atomic<Int>(0)
                    ComputeThreads.parallelFor(16) { outer, _ in
                        ComputeThreads.parallelFor(8) { inner, _ in total.add(outer * 8 + inner + caller, ordering: .relaxed) }
                    }
                    return total.load(ordering: .relaxed) - (0..<128).reduce(0, +) - 128 * caller
                }
            }
            for await difference in group { #expect(difference == 0) }
        }
    }

    @Test func rangesCoverTheWholeIntervalOnce() {
        for total in [0, 1, 9, 4095, 4096, 100_003] {
            let hits = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
            hits.initialize(repeating: 0, count: max(total, 1))
            defer { hits.deallocate() }
            ComputeThreads.parallelRanges(total, minimumLength: 1000, alignment: 8) { range in
                for i in range { hits[i] += 1 }
            }
            #expect((0..<total).allSatisfy { hits[$0] == 1 }, "total \(total)")
        }
    }

    /// Row bands (tall C) and column bands (short, wide C), every transpose combination, against
    /// the naive Double product.
    @Test(arguments: [(300, 40, 70), (8, 900, 50), (257, 255, 129)])
    func bandedGemmMatchesNaiveProduct(m: Int, n: Int, k: Int) throws {
        var rng = SeededRandom(seed: UInt64(m * 7 + n))
        for transA in [Transpose.none, .transposed] {
            for transB in [Transpose.none, .transposed] {
                let a = transA == .none ? Matrix<Float>(rows: m, cols: k, initializer: .uniform(low: -1, high: 1), rng: &rng)
                                        : Matrix<Float>(rows: k, cols: m, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let b = transB == .none ? Matrix<Float>(rows: k, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
                                        : Matrix<Float>(rows: n, cols: k, initializer: .uniform(low: -1, high: 1), rng: &rng)
                var c = Matrix<Float>(rows: m, cols: n, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let reference = try NaiveReference.gemm(a.converted(to: Double.self), transA, b.converted(to: Double.self), transB,
                                                        alpha: 0.5, beta: 2, c: c.converted(to: Double.self))
                try gemm(a, transA, b, transB, alpha: 0.5, beta: 2, into: &c)
                let error = zip(c.converted(to: Double.self).storage, reference.storage).map { abs($0 - $1) }.max() ?? 0
                #expect(error < 1e-4 * Double(k), "\(m)×\(n)×\(k) \(transA) \(transB): error \(error)")
            }
        }
    }

    @Test func aParallelRegionAllocatesAtMostItsClosureBox() {
        let sink = Atomic<Int>(0)
        ComputeThreads.parallelFor(4) { task, _ in sink.add(task, ordering: .relaxed) }
        allocation_counter_start()
        for _ in 0..<10 { ComputeThreads.parallelFor(4) { task, _ in sink.add(task, ordering: .relaxed) } }
        let allocations = allocation_counter_stop()
        #expect(allocations <= 10, "10 regions made \(allocations) allocations")
        #expect(countAllocations { ComputeThreads.parallelFor(4) { task, _ in sink.add(task, ordering: .relaxed) } } == 0)
    }
}
