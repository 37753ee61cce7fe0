import Foundation
import PixelflyCore

/// Mean and sample standard deviation of a few measurements, e.g. one per seed:
/// x̄ = Σxᵢ/n, s = √(Σ(xᵢ − x̄)²/(n − 1)) (0 for n = 1).
public struct SampleSummary: Codable, Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var standardDeviation: Double

    /// Throws `ShapeError` for no values, `ConfigurationError` for a non-finite one.
    public init(_ values: [Double]) throws {
        guard !values.isEmpty else { throw ShapeError("SampleSummary", "needs at least one value") }
        guard values.allSatisfy(\.isFinite) else { throw ConfigurationError("SampleSummary", "values must be finite, got \(values)") }
        count = values.count
        mean = values.reduce(0, +) / Double(values.count)
        let m = mean
        standardDeviation = values.count < 2 ? 0
            : (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }
}

/// The paired difference dᵢ = aᵢ − bᵢ (pair i: the same seed, so the same initialisation and
/// data order) with a two-sided Student-t confidence interval for its mean:
/// d̄ ± t_{(1+c)/2, n−1}·s_d/√n. Pairing removes the seed-to-seed variation the two arms share.
public struct PairedDifference: Codable, Sendable, Equatable {
    public var differences: [Double]
    public var summary: SampleSummary
    /// The confidence level c, e.g. 0.95.
    public var confidence: Double
    public var lower: Double
    public var upper: Double

    /// Throws `ShapeError` unless both have the same count n ≥ 2, `ConfigurationError` unless
    /// 0 < confidence < 1 (and the values are finite).
    public init(_ a: [Double], minus b: [Double], confidence: Double = 0.95) throws {
        guard a.count == b.count else {
            throw ShapeError("PairedDifference", "needs one value of each arm per pair; got \(a.count) and \(b.count)")
        }
        guard a.count >= 2 else {
            throw ShapeError("PairedDifference", "a t-interval needs at least 2 pairs, got \(a.count)")
        }
        guard confidence > 0, confidence < 1 else {
            throw ConfigurationError("PairedDifference", "confidence must be in (0, 1), got \(confidence)")
        }
        differences = zip(a, b).map { $0 - $1 }
        summary = try SampleSummary(differences)
        self.confidence = confidence
        let t = try StudentT.quantile((1 + confidence) / 2, degreesOfFreedom: Double(a.count - 1))
        let half = t * summary.standardDeviation / Double(a.count).squareRoot()
        lower = summary.mean - half
        upper = summary.mean + half
    }

    /// What the interval says about "equal within ±margin" (margin > 0).
    public func verdict(margin: Double) -> EquivalenceVerdict {
        let inside = lower > -margin && upper < margin
        let excludesZero = lower > 0 || upper < 0
        switch (inside, excludesZero) {
        case (true, false): return .equivalent
        case (true, true): return .smallButReal
        case (false, true): return .different
        case (false, false): return .inconclusive
        }
    }
}

/// How a paired-difference interval relates to zero and to an equivalence margin ±m.
public enum EquivalenceVerdict: String, Codable, Sendable {
    /// The interval lies inside (−m, m) and contains 0: equal quality within the margin.
    case equivalent
    /// Inside (−m, m) but excludes 0: a real difference, smaller than the margin.
    case smallButReal
    /// Excludes 0 and reaches beyond the margin: a real difference that may exceed it.
    case different
    /// Contains 0 and reaches beyond the margin: too few seeds to say either.
    case inconclusive
}
