import COpenBLAS
import CVectorKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The threads every kernel of this library runs on: the calling thread plus `count − 1`
/// persistent workers.
///
/// OpenBLAS is kept at **one** thread and matrix products are split here instead (`gemm` splits
/// the output into row or column bands, one single-threaded BLAS call per band). The reason is
/// measured on this project's 2-core machines: after a threaded call OpenBLAS's idle worker
/// spins on `sched_yield`, and any other parallel work then competes with it for the second
/// core — two single-threaded sgemm calls on two of our threads ran no faster than one
/// (≈ 69 GFLOP/s) while that worker was spinning, and at 123–138 GFLOP/s (OpenBLAS's own
/// 2-thread figure is 131–137) when it was not. With one owner of the threads, element-wise
/// kernels, block-sparse tile groups and GEMMs all use both cores, and the dense baseline runs
/// through exactly the same split as the sparse layers.
///
/// `parallelFor` may be called from any thread. Only one parallel region runs at a time: a call
/// made while another is active (a nested call from inside a task, or a concurrent caller on
/// another thread) runs its tasks serially on the calling thread, so kernels can call each other
/// freely. A parallel region costs one 32-byte heap allocation: handing the caller's
/// non-escaping closure to the workers goes through `withoutActuallyEscaping`, which boxes it
/// (measured with valgrind, also at -O). `serially(_:)` runs a body with every region on the
/// calling thread — the allocation tests use it to check that layers reuse their buffers.
public enum ComputeThreads {
    /// Threads used by one parallel region (≥ 1). Defaults to the thread count OpenBLAS chose
    /// when it loaded (all cores, or `OPENBLAS_NUM_THREADS`). Read atomically, so any thread may
    /// read it while another calls `setCount(_:)`.
    public static var count: Int { pool.threadCount }

    /// Sets `count` (and pins OpenBLAS to one thread). Safe to call from any thread outside a
    /// parallel region: it waits for a region running on another thread to end, so a region
    /// never sees the pool change under it. Throws `ConfigurationError` for `threads < 1`, and
    /// when called from inside a task of a running region (waiting there would never end).
    public static func setCount(_ threads: Int) throws {
        guard threads >= 1 else {
            throw ConfigurationError("ComputeThreads.setCount", "thread count must be at least 1, got \(threads)")
        }
        guard pthread_getspecific(insideRegionKey.key) == nil else {
            throw ConfigurationError("ComputeThreads.setCount", "called from inside a parallel region's task; set the thread count between regions")
        }
        pool.resize(threads: threads)
    }

    /// Runs `body(task, worker)` for every task in `0..<taskCount`, spread over the threads.
    /// `worker` (in `0..<count`) is the index of the executing thread, distinct among tasks running
    /// at the same time — use it to pick a per-thread workspace. Returns when every task is done.
    @inlinable
    public static func parallelFor(_ taskCount: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        if taskCount <= 0 { return }
        if taskCount == 1 || count == 1 || isSerialOnThisThread {
            for task in 0..<taskCount { body(task, 0) }
            return
        }
        pool.run(taskCount, body)
    }

    /// Splits `0..<total` into at most `count` contiguous ranges (each a multiple of `alignment`
    /// long, except the last) and runs `body` on each in parallel. Ranges shorter than
    /// `minimumLength` are not split further, so small inputs stay on one thread. This is
    /// `forEachPart` (the library's one work-splitting rule) with `minimumPerPart: minimumLength`.
    @inlinable
    public static func parallelRanges(_ total: Int, minimumLength: Int = 4096, alignment: Int = 8,
                                      _ body: (Range<Int>) -> Void) {
        forEachPart(items: total, minimumPerPart: minimumLength, alignment: alignment) { range, _, _ in body(range) }
    }

    /// Runs `body` with every parallel region it starts executed serially on the calling thread
    /// (other threads are unaffected). Nests.
    public static func serially<Result>(_ body: () throws -> Result) rethrows -> Result {
        let key = serialKey.key
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, previous) }
        return try body()
    }

    @usableFromInline static var isSerialOnThisThread: Bool { pthread_getspecific(serialKey.key) != nil }

    @usableFromInline static let serialKey = ThreadFlagKey()

    /// Set on a thread while it runs tasks of a region (the caller's thread during the region,
    /// a worker's for its whole life), so `setCount` can refuse instead of deadlocking.
    static let insideRegionKey = ThreadFlagKey()

    @usableFromInline static let pool = WorkerPool(threads: Int(openblas_get_num_threads()))

    /// The count the pool started with: the thread count OpenBLAS chose when it loaded (all
    /// cores, or `OPENBLAS_NUM_THREADS`). Code that changes the count for a while should return
    /// to this, not to a count it read earlier, which another thread may have changed meanwhile.
    public static var defaultCount: Int { pool.initialThreadCount }
}

/// A pthread key for a per-thread flag (non-nil value = set).
@usableFromInline
final class ThreadFlagKey: Sendable {
    @usableFromInline let key: pthread_key_t

    init() {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        self.key = key
    }
}

/// Persistent worker threads behind `ComputeThreads`. Workers spin briefly after a region (the
/// next one usually follows within microseconds), then sleep on a condition variable. Every
/// busy-wait loop runs the processor's spin-wait hint (`pixelfly_spin_pause`), so that on a core
/// shared by two hardware threads the waiting thread leaves the issue slots to the working one.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
    /// How long a worker spins waiting for the next region before it sleeps. On this project's
    /// virtual machines waking a sleeping thread is slow enough to matter: when workers counted
    /// bare spin iterations, the Pixelfly MLP block (768 → 3072 → 768, 1024 rows) measured
    /// 72–108 ms over four runs with 20 000 spins and 62–75 ms with 400 000 (about 0.5–1 ms).
    private static let spinSecondsBeforeSleep = 0.001
    /// Spin-wait hints between two reads of the clock (≈ 1 µs on Zen 5, 2 µs on Intel).
    private static let pausesPerClockRead = 32

    /// Read by any thread (`ComputeThreads.count`), written by `resize` while it holds `busy`.
    private let threadCountValue = Atomic<Int>(1)
    var threadCount: Int { threadCountValue.load(ordering: .acquiring) }
    private var workersStarted = 0

    /// A region is running (claimed with compare-exchange; a failed claim runs serially).
    private let busy = Atomic<Bool>(false)
    /// Bumped when a region starts; workers wait for a change.
    private let generation = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    /// Workers between announcing themselves and leaving a region; the caller waits for 0
    /// (after closing the region) before it tears the region down.
    private let inside = Atomic<Int>(0)
    /// The generation of the region workers may join, or −1 while none is open. A worker joins
    /// only if, *after* incrementing `inside`, it reads its own generation here; the caller closes
    /// the region (−1) *before* waiting for `inside` to reach 0. Both sides use sequentially
    /// consistent operations (a store then a load of the other variable, Dekker-style), so a
    /// worker either is waited for or sees the region closed — it can never run a finished
    /// region's body (`nil`, or a closure whose captured buffers are gone) or the next region's
    /// tasks before that region is published. Without this, a worker woken late could do both:
    /// seen as a rare crash in `runTasks` and as wrong Monarch gradients under test load.
    private let openGeneration = Atomic<Int>(-1)
    /// Worker slots handed out in the current region (the caller is slot 0).
    private let nextSlot = Atomic<Int>(1)
    /// Workers allowed to join (threadCount − 1); extra started workers stay idle.
    private let activeWorkers = Atomic<Int>(0)

    private var taskCount = 0
    private var body: ((Int, Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var sleepers = 0

    /// The thread count given at creation.
    let initialThreadCount: Int

    init(threads: Int) {
        initialThreadCount = max(threads, 1)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        resize(threads: max(threads, 1))
    }

    func resize(threads: Int) {
        openblas_set_num_threads(1)
        // Wait for any running region so that workers never see a half-changed pool.
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
        defer { busy.store(false, ordering: .releasing) }
        while workersStarted < threads - 1 {
            startWorker()
            workersStarted += 1
        }
        threadCountValue.store(threads, ordering: .releasing)
        activeWorkers.store(threads - 1, ordering: .releasing)
    }

    @usableFromInline
    func run(_ taskCount: Int, _ body: (Int, Int) -> Void) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for task in 0..<taskCount { body(task, 0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // Only the holder of `busy` writes `generation`, so this is the next region's number.
            let region = generation.load(ordering: .relaxed) &+ 1
            self.taskCount = taskCount
            self.body = escapable
            unfinished.store(taskCount, ordering: .relaxed)
            nextSlot.store(1, ordering: .relaxed)
            nextTask.store(0, ordering: .releasing)
            openGeneration.store(region, ordering: .sequentiallyConsistent)
            generation.store(region, ordering: .sequentiallyConsistent)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&wake) }
            pthread_mutex_unlock(&mutex)

            let key = ComputeThreads.insideRegionKey.key
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
            runTasks(worker: 0)
            pthread_setspecific(key, nil)
            while unfinished.load(ordering: .acquiring) > 0 { pixelfly_spin_pause() }
            openGeneration.store(-1, ordering: .sequentiallyConsistent)
            while inside.load(ordering: .sequentiallyConsistent) > 0 { pixelfly_spin_pause() }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func runTasks(worker: Int) {
        while true {
            let task = nextTask.add(1, ordering: .acquiring).oldValue
            if task >= taskCount { return }
            body!(task, worker)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        pthread_setspecific(ComputeThreads.insideRegionKey.key, UnsafeRawPointer(bitPattern: 1))
        var seen = generation.load(ordering: .acquiring)
        while true {
            var pauses = 0
            var sleepAt = 0.0
            while generation.load(ordering: .acquiring) == seen {
                pixelfly_spin_pause()
                pauses += 1
                if pauses % Self.pausesPerClockRead != 0 { continue }
                let now = monotonicSeconds()
                if sleepAt == 0 { sleepAt = now + Self.spinSecondsBeforeSleep }
                if now < sleepAt { continue }
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            inside.add(1, ordering: .sequentiallyConsistent)
            // Join only if the region we saw start is still open (see `openGeneration`): then the
            // caller waits for us, and its tasks, body and slot counter stay valid until we leave.
            if openGeneration.load(ordering: .sequentiallyConsistent) == seen {
                let slot = nextSlot.add(1, ordering: .relaxed).oldValue
                if slot <= activeWorkers.load(ordering: .relaxed) { runTasks(worker: slot) }
            }
            inside.subtract(1, ordering: .releasing)
        }
    }

    private func startWorker() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue()
            pool.workerLoop()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed (\(status)) starting a compute thread")
        pthread_detach(thread)
    }
}
