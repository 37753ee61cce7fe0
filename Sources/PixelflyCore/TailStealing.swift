import Synchronization

/// A static split with work taken from the tail: each part has a list of work units that its
/// owner runs front to back, exactly as a static split would; a thread that has finished its
/// own list then takes units one at a time from the *back* of the other parts' lists.
///
/// Why: on a shared (virtual) machine one of two threads is now and then delayed for a while,
/// and with a static split the other then waits at the end of the region. Measured on the
/// Intel Xeon KVM guest (2 vCPUs): over 150 Mixer training steps the two threads' parts of
/// the block-sparse strip loop ended 6–14 % of the region's time apart on average, mostly in a
/// few calls with millisecond delays (notebooks-md/kernel-families.md, "Eleventh pass").
/// Handing out every unit dynamically instead had cost cache locality (the "Seventh pass"); a
/// part's owner here keeps its order and its data, and only the units its owner has not yet
/// reached when another thread runs dry move, from the end of its list.
///
/// Results do not depend on who ran a unit as long as units write disjoint outputs and read
/// only what the region's caller prepared; `body` gets the index of the part whose thread runs
/// it (the owner's, or the thief's own) to pick per-thread scratch.
///
/// One object serves one caller at a time (a layer's kernel set): it holds one word per part,
/// the front and back index of the unclaimed units. Every call drains every list, so a list
/// whose owner has not started yet (it still holds the last call's front = back) has nothing to
/// take, and its owner later runs all of it.
public final class TailStealing: @unchecked Sendable {
    /// One part's list: front and back packed into 64 bits, claimed with compare-exchange.
    /// Units front ..< back are not yet claimed.
    private final class PartWord: Sendable {
        let word = Atomic<UInt64>(0)
    }

    private let words: [PartWord]

    /// The most parts one call can have.
    public var maximumParts: Int { words.count }

    public init(maximumParts: Int) {
        precondition(maximumParts >= 1, "TailStealing needs at least one part, got \(maximumParts)")
        words = (0..<maximumParts).map { _ in PartWord() }
    }

    /// Runs `body(part, index, runner)` for every index in `0..<unitCount(part)` of every part
    /// in `0..<parts`, in parallel on `ComputeThreads`. The owner of a part runs its indices in
    /// increasing order; a thread done with its own part takes the highest unclaimed index of
    /// another part, repeatedly. `runner` is the part whose thread runs the unit.
    public func run(parts: Int, unitCount: (_ part: Int) -> Int,
                    _ body: (_ part: Int, _ index: Int, _ runner: Int) -> Void) {
        precondition(parts >= 0 && parts <= words.count, "TailStealing.run: \(parts) parts, at most \(words.count)")
        ComputeThreads.parallelFor(parts) { part, _ in
            let count = unitCount(part)
            precondition(count >= 0 && count <= Int(UInt32.max), "TailStealing.run: \(count) units in part \(part)")
            words[part].word.store(Self.pack(0, UInt64(count)), ordering: .releasing)
            while let index = claim(part, fromBack: false) { body(part, index, part) }
            for offset in 1..<max(parts, 1) {
                let other = (part + offset) % parts
                while let index = claim(other, fromBack: true) { body(other, index, part) }
            }
        }
    }

    /// The front (owner) or back (thief) index of `part`'s list, or nil if it is empty.
    private func claim(_ part: Int, fromBack: Bool) -> Int? {
        let slot = words[part]
        var current = slot.word.load(ordering: .acquiring)
        while true {
            let (front, back) = Self.unpack(current)
            guard front < back else { return nil }
            let next = fromBack ? Self.pack(front, back - 1) : Self.pack(front + 1, back)
            let (exchanged, original) = slot.word.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing)
            if exchanged { return Int(fromBack ? back - 1 : front) }
            current = original
        }
    }

    private static func pack(_ front: UInt64, _ back: UInt64) -> UInt64 { front << 32 | back }

    private static func unpack(_ word: UInt64) -> (front: UInt64, back: UInt64) { (word >> 32, word & 0xFFFF_FFFF) }
}
