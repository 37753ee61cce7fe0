import PixelflyTraining
import Testing

/// Expected values from SciPy 1.17 (`scipy.stats.t.ppf`, `t.cdf`, `ttest_rel(...).confidence_interval(0.95)`),
/// closed forms (ν = 1: F(t) = ½ + atan(t)/π; ν = 2: F(t) = ½ + t/(2√(2 + t²))) and Python's
/// `statistics` module — none of them this code.
@Suite("Seed statistics: Student t, paired intervals, Pareto front")
struct SeedStatisticsTests {
    static let quantiles975: [(Double, Double)] = [
        (1, 12.706204736174694), (2, 4.302652729749462), (3, 3.1824463052837078), (4, 2.7764451051977934),
        (5, 2.5705818356363146), (10, 2.228138851986274), (30, 2.0422724563012378), (100, 1.9839715185235518),
    ]
    static let quantiles995: [(Double, Double)] = [(1, 63.656741162871526), (2, 9.924843200918287), (10, 3.16927267261695)]

    @Test func quantilesMatchSciPy() throws {
        for (nu, expected) in Self.quantiles975 {
            let t = try StudentT.quantile(0.975, degreesOfFreedom: nu)
            #expect(abs(t - expected) <= 1e-9 * expected, "t(0.975, ν = \(nu)) = \(t), SciPy \(expected)")
            #expect(abs(try StudentT.quantile(0.025, degreesOfFreedom: nu) + expected) <= 1e-9 * expected)
        }
        for (nu, expected) in Self.quantiles995 {
            let t = try StudentT.quantile(0.995, degreesOfFreedom: nu)
            #expect(abs(t - expected) <= 1e-9 * expected, "t(0.995, ν = \(nu)) = \(t), SciPy \(expected)")
        }
        #expect(try StudentT.quantile(0.5, degreesOfFreedom: 3) == 0)
    }

    @Test func cdfMatchesClosedFormsAndSciPy() throws {
        #expect(abs(try StudentT.cdf(1, degreesOfFreedom: 1) - 0.75) < 1e-14)
        #expect(abs(try StudentT.cdf(-3, degreesOfFreedom: 1) - 0.10241638234956674) < 1e-14)
        #expect(abs(try StudentT.cdf(1.5, degreesOfFreedom: 2) - 0.8638034375544994) < 1e-14)
        #expect(abs(try StudentT.cdf(2, degreesOfFreedom: 7) - 0.957190335718512) < 1e-13)
        #expect(abs(try StudentT.cdf(-0.5, degreesOfFreedom: 3.5) - 0.32342521966127546) < 1e-13)
        #expect(try StudentT.cdf(0, degreesOfFreedom: 4) == 0.5)
    }

    @Test func summaryIsMeanAndSampleStandardDeviation() throws {
        let s = try SampleSummary([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(s.count == 8 && s.mean == 5)
        // Σ(x − 5)² = 32, /7.
        #expect(abs(s.standardDeviation - (32.0 / 7).squareRoot()) < 1e-14)
        #expect(try SampleSummary([3.5]).standardDeviation == 0)
    }

    /// Three seeds of an accuracy (points): d = [0.2, 0.5, 0.4], d̄ = 0.3667, s = 0.15275,
    /// interval d̄ ± 4.3027·s/√3 (Python `statistics` with SciPy's t).
    @Test func pairedIntervalOfThreeSeeds() throws {
        let d = try PairedDifference([84.0, 83.5, 84.5], minus: [83.8, 83.0, 84.1])
        #expect(abs(d.summary.mean - 0.3666666666666695) < 1e-12)
        #expect(abs(d.summary.standardDeviation - 0.15275252316519375) < 1e-12)
        #expect(abs(d.lower - -0.012791636693004316) < 1e-9 && abs(d.upper - 0.7461249700263434) < 1e-9,
                "interval [\(d.lower), \(d.upper)]")
        #expect(d.verdict(margin: 0.5) == .inconclusive)
        #expect(d.verdict(margin: 1.0) == .equivalent)
    }

    /// Four seeds of a loss; SciPy `ttest_rel(a, b).confidence_interval(0.95)`.
    @Test func pairedIntervalMatchesSciPyTTestRel() throws {
        let d = try PairedDifference([2.31, 2.35, 2.29, 2.40], minus: [2.36, 2.37, 2.35, 2.41])
        #expect(abs(d.summary.mean - -0.03500000000000003) < 1e-12)
        #expect(abs(d.summary.standardDeviation - 0.023804761428476064) < 1e-12)
        #expect(abs(d.lower - -0.07287868752810692) < 1e-9 && abs(d.upper - 0.0028786875281068547) < 1e-9)
        #expect(d.verdict(margin: 0.046) == .inconclusive)
        #expect(d.verdict(margin: 0.08) == .equivalent)
    }

    @Test func verdictsCoverAllFourCases() throws {
        // Interval excludes 0 and stays inside the margin: a small but real difference.
        let small = try PairedDifference([1.1, 1.2, 1.15], minus: [1.0, 1.1, 1.05])
        #expect(small.lower > 0 && small.verdict(margin: 0.5) == .smallButReal)
        // Excludes 0 and reaches beyond the margin.
        let big = try PairedDifference([3, 3.2, 2.9], minus: [1, 1.1, 1.0])
        #expect(big.verdict(margin: 0.5) == .different)
    }

    @Test func badInputsThrowNamedErrors() {
        #expect(thrownMessage { _ = try PairedDifference([1], minus: [2]) }?.contains("at least 2 pairs") == true)
        #expect(thrownMessage { _ = try PairedDifference([1, 2], minus: [2]) }?.contains("one value of each arm") == true)
        #expect(thrownMessage { _ = try PairedDifference([1, 2], minus: [2, 3], confidence: 1) }?.contains("(0, 1)") == true)
        #expect(thrownMessage { _ = try SampleSummary([]) }?.contains("at least one value") == true)
        #expect(thrownMessage { _ = try SampleSummary([1, .nan]) }?.contains("finite") == true)
        #expect(thrownMessage { _ = try StudentT.quantile(1, degreesOfFreedom: 2) }?.contains("(0, 1)") == true)
        #expect(thrownMessage { _ = try StudentT.cdf(1, degreesOfFreedom: 0) }?.contains("positive") == true)
    }

    /// Costs (step ms) and qualities (accuracy) worked by hand: B dominates C (cheaper, better),
    /// and D (slower than B and worse), so A, B and E are the front.
    @Test func paretoFrontByHand() throws {
        //                 A     B     C     D     E
        let costs: [Double] = [100, 200, 250, 300, 400]
        let quality: [Double] = [80, 84, 83, 83.5, 85]
        #expect(try ParetoFront.indices(costs: costs, qualities: quality) == [0, 1, 4])
        // An exact duplicate of a front point stays on the front with it.
        #expect(try ParetoFront.indices(costs: [1, 1, 2], qualities: [5, 5, 4]) == [0, 1])
        #expect(thrownMessage { _ = try ParetoFront.indices(costs: [1], qualities: []) }?.contains("one quality per cost") == true)
    }
}
