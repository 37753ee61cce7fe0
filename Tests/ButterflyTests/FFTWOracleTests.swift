import FFTWOracle
import PixelflyCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("FFTW oracle")
struct FFTWOracleTests {
    /// The oracle itself against the O(n²) definition, in Double: X_k = Σ x_j e^{−2πi jk/n}.
    @Test(arguments: [1, 2, 3, 8, 12, 17, 64])
    func forwardDFTMatchesDefinition(n: Int) throws {
        var rng = SeededRandom(seed: UInt64(n))
        let signal = (0..<(2 * n)).map { _ in rng.uniform(-1, 1) }
        let result = try FFTWPlanCache<Double>.shared.apply(.forwardDFT, n: n, to: signal)
        for k in 0..<n {
            var re = 0.0, im = 0.0
            for j in 0..<n {
                let angle = -2 * Double.pi * Double(j * k) / Double(n)
                re += signal[2 * j] * cos(angle) - signal[2 * j + 1] * sin(angle)
                im += signal[2 * j] * sin(angle) + signal[2 * j + 1] * cos(angle)
            }
            #expect(abs(result[2 * k] - re) < 1e-12 * Double(n) && abs(result[2 * k + 1] - im) < 1e-12 * Double(n), "n=\(n) k=\(k)")
        }
    }

    /// REDFT10: X_k = 2 Σ_j x_j cos(π k (2j+1) / 2n), in Float against a Double sum.
    @Test func dct2MatchesDefinition() throws {
        let n = 16
        var rng = SeededRandom(seed: 4)
        let signal = (0..<n).map { _ in Float(rng.uniform(-1, 1)) }
        let result = try FFTWPlanCache<Float>.shared.apply(.dct2, n: n, to: signal)
        for k in 0..<n {
            var sum = 0.0
            for j in 0..<n { sum += 2 * Double(signal[j]) * cos(Double.pi * Double(k * (2 * j + 1)) / Double(2 * n)) }
            #expect(abs(Double(result[k]) - sum) < 1e-5 * Double(n), "k=\(k)")
        }
    }

    /// The planner is not thread-safe: this creates and destroys plans from many threads at
    /// once (distinct sizes, so each thread really plans) and executes them. The platform notes
    /// record an unguarded planner crashing `swift test` in 3 of 12 runs.
    @Test func concurrentPlanningNeverCrashes() async throws {
        try await withThrowingTaskGroup(of: Double.self) { group in
            for task in 0..<32 {
                group.addTask {
                    let n = 16 + task * 3
                    let cache = FFTWPlanCache<Float>()
                    var checksum = 0.0
                    for round in 0..<8 {
                        let plan = try FFTWPlan<Float>(.forwardDFT, n: n + round, batch: 2)
                        plan.input[0] = 1 // impulse → all-ones spectrum
                        plan.execute()
                        checksum += Double(plan.output[2 * (n + round - 1)])
                        _ = try cache.apply(.backwardDFT, n: n, to: [Float](repeating: 1, count: 2 * n))
                    }
                    cache.removeAll()
                    return checksum
                }
            }
            for try await checksum in group { #expect(abs(checksum - 8) < 1e-4, "impulse spectrum sum \(checksum)") }
        }
    }

    @Test func badLengthThrows() {
        #expect(throws: ShapeError.self) { try FFTWPlan<Float>(.forwardDFT, n: 0) }
        #expect(throws: ShapeError.self) { try FFTWPlanCache<Float>().apply(.forwardDFT, n: 4, to: [1, 2, 3]) }
    }

    @Test func cacheReusesAndFreesPlans() throws {
        let cache = FFTWPlanCache<Double>()
        let a = try cache.plan(.forwardDFT, n: 32, batch: 4)
        let b = try cache.plan(.forwardDFT, n: 32, batch: 4)
        #expect(a === b)
        _ = try cache.plan(.dct2, n: 32, batch: 4)
        #expect(cache.count == 2)
        cache.removeAll()
        #expect(cache.count == 0)
    }
}
