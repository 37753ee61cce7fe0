import PixelflyCore
import Testing

@Suite("Seeded initialisers")
struct SeededRandomTests {
    @Test func sameSeedSameNumbers() {
        for initializer in [Initializer.uniform(low: -2, high: 3), .normal(mean: 1, standardDeviation: 2),
                            .kaimingUniform(a: 5.0.squareRoot()), .kaimingNormal(a: 0)] {
            var r1 = SeededRandom(seed: 42)
            var r2 = SeededRandom(seed: 42)
            let a = Matrix<Float>(rows: 13, cols: 7, initializer: initializer, rng: &r1)
            let b = Matrix<Float>(rows: 13, cols: 7, initializer: initializer, rng: &r2)
            #expect(a == b, "\(initializer) differs between two draws with the same seed")
        }
    }

    @Test func differentSeedsDiffer() {
        var r1 = SeededRandom(seed: 1)
        var r2 = SeededRandom(seed: 2)
        #expect((0..<8).map { _ in r1.next() } != (0..<8).map { _ in r2.next() })
    }

    /// Pins the generator's output so that a change to it (which would silently change every
    /// seeded experiment) fails here. The values are xoshiro256** seeded by SplitMix64(0).
    @Test func generatorIsPinned() {
        var rng = SeededRandom(seed: 0)
        let first = (0..<3).map { _ in rng.next() }
        var again = SeededRandom(seed: 0)
        #expect(first == (0..<3).map { _ in again.next() })
        #expect(first[0] == SeededRandomTests.pinnedFirstValue, "first value \(first[0])")
    }
    static let pinnedFirstValue: UInt64 = 0x99EC_5F36_CB75_F2B4

    /// Pins normal draws bit for bit. Box–Muller goes through the platform's `log` and `cos`
    /// (glibc's libm here), which IEEE 754 does not require to be correctly rounded, so a libm
    /// that rounds differently changes seeded initialisations; this test is where that shows.
    /// Values from glibc 2.36 on x86-64, reproduced by an independent Python implementation of
    /// SplitMix64 → xoshiro256** → Box–Muller on the same libm (the first is −0.01896499060631051).
    @Test func normalDrawsArePinned() {
        var rng = SeededRandom(seed: 0)
        let doubles = (0..<4).map { _ in rng.normal().bitPattern }
        #expect(doubles == [0xBF93_6B8E_F9B1_343E, 0xBFD9_D691_0322_7BC6, 0x3FFA_0073_583E_17FF, 0xBFF0_5709_03B6_C740],
                "normal draws \(doubles.map { String($0, radix: 16) })")
        var shifted = SeededRandom(seed: 12345)
        let scaled = (0..<2).map { _ in shifted.normal(mean: 1, standardDeviation: 3).bitPattern }
        #expect(scaled == [0x4011_8D83_2C95_DF62, 0x4020_B8CF_6D76_E1B4], "N(1, 9) draws \(scaled.map { String($0, radix: 16) })")
        // Float initialisation rounds the same draws: the path every Float layer's weights take.
        var floatRNG = SeededRandom(seed: 0)
        let floats = Matrix<Float>(rows: 1, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &floatRNG)
        #expect(floats.storage.map(\.bitPattern) == [0xBC9B_5C78, 0xBECE_B488, 0x3FD0_039B, 0xBF82_B848],
                "Float normal initialisation \(floats.storage)")
    }

    @Test func momentsMatchTheDistributions() {
        var rng = SeededRandom(seed: 7)
        let n = 200_000
        let normals = (0..<n).map { _ in rng.normal(mean: 1, standardDeviation: 2) }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        // Standard errors: 2/√n ≈ 0.0045 for the mean, about 0.025 for the variance (4·√(2/n)).
        #expect(abs(mean - 1) < 0.03, "normal mean \(mean)")
        #expect(abs(variance - 4) < 0.15, "normal variance \(variance)")

        let fanIn = 256
        let kaiming: [Double] = Initializer.linearDefault.values(count: n, fanIn: fanIn, using: &rng)
        let bound = 1 / Double(fanIn).squareRoot()
        #expect(kaiming.allSatisfy { abs($0) <= bound })
        let kaimingVariance = kaiming.map { $0 * $0 }.reduce(0, +) / Double(n)
        #expect(abs(kaimingVariance / (bound * bound / 3) - 1) < 0.02, "Kaiming-uniform variance \(kaimingVariance)")
    }

    @Test func indexAndPermutationStayInRange() throws {
        var rng = SeededRandom(seed: 9)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<5000 { counts[rng.index(below: 5)] += 1 }
        #expect(counts.allSatisfy { $0 > 850 && $0 < 1150 }, "counts \(counts)")
        // The public throwing form draws exactly what the package's non-throwing form draws.
        var (checked, unchecked) = (SeededRandom(seed: 4), SeededRandom(seed: 4))
        for bound in [1, 2, 3, 7, 1000, Int.max] {
            #expect(try checked.index(validatingBelow: bound) == unchecked.index(below: bound))
        }
        let p = try rng.permutation(100)
        #expect(p.sorted() == Array(0..<100))
        #expect(p != Array(0..<100))
    }
}
