import RealModule

/// A deterministic random source: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same integers and uniform draws on every platform and Swift version,
/// because the generator and the float conversion are written out here (the standard library's
/// `random(in:)` distributions are not specified bit for bit). Normal draws use the platform's
/// `log` and `cos`, which are not required to be correctly rounded: their bits are pinned for
/// glibc on x86-64 by `SeededRandomTests.normalDrawsArePinned`, so another libm that rounds
/// differently fails that test instead of silently changing seeded experiments.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }

    /// Standard normal by the Box–Muller transform (one draw per call; the pair's second
    /// value is discarded so that the sequence does not depend on call history).
    public mutating func normal(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = 1 - nextUnit() // (0, 1], so the log is finite
        let u2 = nextUnit()
        return mean + standardDeviation * (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * .pi * u2)
    }

    /// Uniform integer in `0..<upperBound`; throws `ShapeError` unless `upperBound > 0` (the
    /// range must not be empty). Draws the same value as the package's `index(below:)`.
    public mutating func index(validatingBelow upperBound: Int) throws -> Int {
        guard upperBound > 0 else {
            throw ShapeError("SeededRandom.index", "upper bound must be positive (0..<upperBound must not be empty), got \(upperBound)")
        }
        return index(below: upperBound)
    }

    /// Uniform integer in `0..<upperBound` (Lemire's multiply-shift with rejection).
    ///
    /// Package-only: the bound is one the package has checked, and `upperBound <= 0` traps.
    /// The public form is `index(validatingBelow:)`, which throws.
    package mutating func index(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "upper bound must be positive")
        let bound = UInt64(upperBound)
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= (0 &- bound) % bound { return Int(product.high) }
        }
    }

    /// A Fisher–Yates shuffle of `0..<count`; throws `ShapeError` if `count` is negative.
    public mutating func permutation(_ count: Int) throws -> [Int] {
        guard count >= 0 else {
            throw ShapeError("SeededRandom.permutation", "count must be non-negative, got \(count)")
        }
        var p = Array(0..<count)
        if count < 2 { return p }
        for i in stride(from: count - 1, to: 0, by: -1) {
            p.swapAt(i, index(below: i + 1))
        }
        return p
    }
}
