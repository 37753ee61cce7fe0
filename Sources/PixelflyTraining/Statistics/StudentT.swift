import Foundation
import PixelflyCore

/// Student's t distribution with ν degrees of freedom: the distribution of (x̄ − μ)/(s/√n) for
/// n = ν + 1 normal observations, used for confidence intervals over a handful of seeds.
///
/// CDF: for t ≥ 0, F(t) = 1 − ½·I_x(ν/2, ½) with x = ν/(ν + t²), where I_x(a, b) is the
/// regularized incomplete beta function (evaluated by its continued fraction, modified Lentz,
/// relative tolerance 1e-15); F(−t) = 1 − F(t). The quantile inverts F by bisection to 1e-13
/// absolute, which is far below anything a 3-seed interval can resolve.
public enum StudentT {
    /// P(T ≤ t). Throws `ConfigurationError` unless ν > 0 and t is finite.
    public static func cdf(_ t: Double, degreesOfFreedom nu: Double) throws -> Double {
        guard nu > 0, nu.isFinite else { throw ConfigurationError("StudentT.cdf", "degrees of freedom must be positive and finite, got \(nu)") }
        guard t.isFinite else { throw ConfigurationError("StudentT.cdf", "t must be finite, got \(t)") }
        let tail = 0.5 * regularizedIncompleteBeta(nu / (nu + t * t), a: nu / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The t with P(T ≤ t) = p, e.g. p = 0.975 for a two-sided 95 % interval (4.3027 at ν = 2).
    /// Throws `ConfigurationError` unless 0 < p < 1 and ν > 0.
    public static func quantile(_ p: Double, degreesOfFreedom nu: Double) throws -> Double {
        guard p > 0, p < 1 else { throw ConfigurationError("StudentT.quantile", "probability must be in (0, 1), got \(p)") }
        guard nu > 0, nu.isFinite else { throw ConfigurationError("StudentT.quantile", "degrees of freedom must be positive and finite, got \(nu)") }
        if p == 0.5 { return 0 }
        if p < 0.5 { return -(try quantile(1 - p, degreesOfFreedom: nu)) }
        var (low, high) = (0.0, 1.0)
        while try cdf(high, degreesOfFreedom: nu) < p { low = high; high *= 2 }
        while high - low > 1e-13 * max(1, high) {
            let mid = (low + high) / 2
            if try cdf(mid, degreesOfFreedom: nu) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }

    /// I_x(a, b) = B(x; a, b)/B(a, b) for 0 ≤ x ≤ 1, a, b > 0 (Numerical Recipes §6.4: the
    /// continued fraction converges fast for x < (a + 1)/(a + b + 2); otherwise use the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a)).
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * betaContinuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
    }

    /// The continued fraction of the incomplete beta function (modified Lentz).
    private static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...300 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d; if abs(d) < tiny { d = tiny }
            c = 1 + even / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d; if abs(d) < tiny { d = tiny }
            c = 1 + odd / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return result
    }
}
