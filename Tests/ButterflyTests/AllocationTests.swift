import AllocationCounter
import PixelflyCore
import Synchronization
import Testing

/// Tests that change the process-wide `ComputeThreads.count` do it through `set(_:)`, which
/// counts the changes, so that an allocation measurement running meanwhile on another thread
/// (Swift Testing runs suites in parallel) can tell that its layers re-sized their per-thread
/// workspaces for a new count — allocations that are not what `countAllocations` looks for.
enum TestThreadCount {
    static let changes = Atomic<Int>(0)

    static func set(_ threads: Int) throws {
        changes.add(1, ordering: .sequentiallyConsistent)
        defer { changes.add(1, ordering: .sequentiallyConsistent) }
        try ComputeThreads.setCount(threads)
    }

    /// `body`'s result from a run during which no test changed the thread count (repeated up
    /// to 20 times; the last run's result otherwise). Results are bit-for-bit repeatable only
    /// under one thread count (work is cut by `ComputeThreads.partCount`, and OpenBLAS's bits may
    /// depend on a band's size: a tiny Mixer's test loss reads 2.339312882721424 on 1 thread and
    /// 2.339312894046307 on 2), so tests that compare two runs for equality run both inside one
    /// `body`.
    static func stable<Result>(_ body: () throws -> Result) rethrows -> Result {
        for attempt in 1... {
            let before = changes.load(ordering: .sequentiallyConsistent)
            let result = try body()
            let unchanged = before % 2 == 0 && changes.load(ordering: .sequentiallyConsistent) == before
            if unchanged || attempt == 20 { return result }
        }
        fatalError("unreachable")
    }
}

/// Heap allocations made by `body` on the calling thread, counted by the malloc interposer that the
/// test binary links (Tests/AllocationCounter).
///
/// `body` runs twice: once unmeasured, which sizes every buffer for the thread count in force
/// (another test may have changed it since the caller's own warm-up), then measured. If a test
/// changed the thread count during the two runs (`TestThreadCount`), both are repeated, up to 20
/// times. Both runs use `ComputeThreads.serially`: a parallel region boxes its closure (one
/// 32-byte allocation, see `ComputeThreads`), which would hide what these tests look for —
/// buffers that are not reused. `ComputeThreadsTests` bounds the regions' own allocations.
func countAllocations(_ body: () throws -> Void) rethrows -> Int {
    try ComputeThreads.serially {
        var count = 0
        for _ in 0..<20 {
            let changes = TestThreadCount.changes.load(ordering: .sequentiallyConsistent)
            try body()
            allocation_counter_start()
            do { try body() } catch { _ = allocation_counter_stop(); throw error }
            count = allocation_counter_stop()
            if TestThreadCount.changes.load(ordering: .sequentiallyConsistent) == changes { break }
        }
        return count
    }
}

/// Heap allocations of one steady-state forward + backward of `layer` on a random batch of
/// `rows` rows, counted after warm-up steps that size every buffer (one here, one in
/// `countAllocations`).
func steadyStateStepAllocations<L: LinearLayer>(_ layer: L, rows: Int = 16, rng: inout SeededRandom) throws -> Int
where L.Scalar == Float {
    let x = Matrix<Float>(rows: rows, cols: layer.inputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
    let dy = Matrix<Float>(rows: rows, cols: layer.outputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
    var y = Matrix<Float>(rows: 0, cols: 0)
    var dx = Matrix<Float>(rows: 0, cols: 0)
    func step() throws {
        try layer.forward(x, into: &y)
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
    }
    try step()
    return try countAllocations { try step() }
}

@Suite("Allocation counting", .serialized)
struct AllocationTests {
    /// The counter must see allocations, or an "allocation-free" result would mean nothing.
    @Test func counterSeesAllocations() {
        let count = countAllocations {
            let array = [Int](repeating: 1, count: 1000)
            #expect(array.count == 1000)
        }
        #expect(count >= 1)
    }

    /// A dense layer's forward and backward into kept buffers allocate nothing.
    @Test func denseLinearSteadyStateIsAllocationFree() throws {
        var rng = SeededRandom(seed: 1)
        let layer = try DenseLinear<Float>(64, 32, rng: &rng)
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state dense step")
    }
}
