import Synchronization

/// The random source of the quick initialisers (`DenseLinear<Float>(784, 256)` without `rng:`).
///
/// Every quick initialiser takes a fresh `SeededRandom` seeded from one process-wide sequence
/// (itself a `SeededRandom`, behind a lock), so layers built one after another get different
/// weights, and a program that builds its layers in the same order gets the same weights on
/// every run. For control over the weights, pass `rng:` (the seeded form) instead.
public enum DefaultRandom {
    /// The seed the process-wide sequence starts from.
    public static let initialSeed: UInt64 = 0x5EED

    private static let sequence = Mutex(SeededRandom(seed: initialSeed))

    /// A generator for one initialiser, seeded with the next value of the sequence.
    public static func next() -> SeededRandom {
        SeededRandom(seed: sequence.withLock { $0.next() })
    }

    /// Restarts the sequence from `seed`, e.g. at the start of a script that must give the same
    /// weights whatever ran before it in the process.
    public static func reset(seed: UInt64 = initialSeed) {
        sequence.withLock { $0 = SeededRandom(seed: seed) }
    }
}
