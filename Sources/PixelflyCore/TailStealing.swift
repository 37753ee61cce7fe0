import Synchronization

/// A static split with work taken from the tail: each part has a list of work units that its
/// owner runs front to back, exactly as a static split would; a thread that has finished its
/// own list then takes units one at a time from the *back* of the other parts' lists.
///
/// Why: on a shared (virtual) machine one of two threads is now and then delayed for a while,
/// and with a static split the other then waits at the end of the region. Measured on the
/// Intel Xeon KVM guest (2 vCPUs): over 150 Mixer training steps the two threads' parts of
/// the block-sparse strip loop ended 6–14 % of the region's time apart on average, mostly in a
/// few calls with millisecond delays (notebooks-md/kernel-passes/11-tail-stealing.md).
/// Handing out every unit dynamically instead had cost cache locality
/// (notebooks-md/kernel-passes/07-gelu-in-kernels.md); a part's owner here keeps its order and its
/// data, and only the units its owner has not yet reached when another thread runs dry move, from
/// the end of its list.
///
/// Results do not depend on who ran a unit as long as units write disjoint outputs and read
/// only what the region's caller prepared; `body` gets the index of its thread's own part
/// (`runner`) to pick per-thread scratch, also for the units it takes from others.
///
/// One object serves one caller at a time (a layer's kernel set): it holds one word per part,
/// the front and back index of the unclaimed units. Every call drains every list, so a list
/// whose owner has not started yet (it still holds the last call's front = back) has nothing to
/// take, and its owner later runs all of it.
public final class TailStealing: @unchecked Sendable {
    /// Part p's list at words[p · wordStride]: front and back packed into 64 bits, claimed with
    /// compare-exchange; units front ..< back are not yet claimed. The words are 128 bytes
    /// apart: on one cache line, every claim of one thread would evict the line from the
    /// other's cache.
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private static let wordStride = 128 / MemoryLayout<Atomic<UInt64>>.stride
    private let partCapacity: Int

    public init(maximumParts: Int) {
        precondition(maximumParts >= 1, "TailStealing needs at least one part, got \(maximumParts)")
        partCapacity = maximumParts
        words = .allocate(capacity: maximumParts * Self.wordStride)
        for part in 0..<maximumParts { (words + part * Self.wordStride).initialize(to: Atomic<UInt64>(0)) }
    }

    deinit {
        for part in 0..<partCapacity { (words + part * Self.wordStride).deinitialize(count: 1) }
        words.deallocate()
    }

    /// Runs every index in `0..<unitCount(part)` of every part in `0..<parts`, in parallel on
    /// `ComputeThreads`: `body(runner, &claims)` runs once per part, on the thread that owns
    /// part `runner`, and takes units from `claims.next()` until it returns nil — first the
    /// part's own indices in increasing order, then the highest unclaimed index of another part,
    /// repeatedly. (One call per thread rather than per unit: the body reads what it captured
    /// once. Per unit, each read of the caller's stack frame from the other core missed the
    /// cache, the frame's lines being written by the calling thread meanwhile.)
    public func run(parts: Int, unitCount: (_ part: Int) -> Int, _ body: (_ runner: Int, _ claims: inout Claims) -> Void) {
        precondition(parts >= 0 && parts <= partCapacity, "TailStealing.run: \(parts) parts, at most \(partCapacity)")
        ComputeThreads.parallelFor(parts) { part, _ in
            let count = unitCount(part)
            precondition(count >= 0 && count <= Int(UInt32.max), "TailStealing.run: \(count) units in part \(part)")
            words[part * Self.wordStride].store(Self.pack(0, UInt64(count)), ordering: .releasing)
            var claims = Claims(stealing: self, parts: parts, runner: part)
            body(part, &claims)
        }
    }

    /// The units one thread runs in a `run` call, in order: its own part's from the front, then
    /// the other parts' from the back.
    public struct Claims {
        fileprivate let stealing: TailStealing
        fileprivate let parts: Int
        /// The part this thread owns.
        fileprivate let runner: Int
        /// 0 while taking the own part's units, then the distance to the part being emptied.
        private var offset = 0

        fileprivate init(stealing: TailStealing, parts: Int, runner: Int) {
            self.stealing = stealing
            self.parts = parts
            self.runner = runner
        }

        /// The next unit (the part it belongs to and its index there), or nil when every list is empty.
        public mutating func next() -> (part: Int, index: Int)? {
            if offset == 0 {
                if let index = stealing.claim(runner, fromBack: false) { return (runner, index) }
                offset = 1
            }
            while offset < parts {
                let other = (runner + offset) % parts
                if let index = stealing.claim(other, fromBack: true) { return (other, index) }
                offset += 1
            }
            return nil
        }
    }

    /// The front (owner) or back (thief) index of `part`'s list, or nil if it is empty.
    fileprivate func claim(_ part: Int, fromBack: Bool) -> Int? {
        let word = words + part * Self.wordStride
        var current = word.pointee.load(ordering: .acquiring)
        while true {
            let (front, back) = Self.unpack(current)
            guard front < back else { return nil }
            let next = fromBack ? Self.pack(front, back - 1) : Self.pack(front + 1, back)
            let (exchanged, original) = word.pointee.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged { return Int(fromBack ? back - 1 : front) }
            current = original
        }
    }

    private static func pack(_ front: UInt64, _ back: UInt64) -> UInt64 { front << 32 | back }

    private static func unpack(_ word: UInt64) -> (front: UInt64, back: UInt64) { (word >> 32, word & 0xFFFF_FFFF) }
}
