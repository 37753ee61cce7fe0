import PixelflyCore
import RealModule

/// Linear warmup followed by a cosine decay.
///
/// For step t (0-based) with peak rate η, warmup W, total T and floor η_min:
///
///     t < W:      η·(t + 1)/W
///     otherwise:  η_min + ½(η − η_min)(1 + cos(π·min(1, (t − W)/(T − W))))
///
/// so the first step already trains, the peak is reached at t = W − 1, and the rate stays at
/// η_min after T.
public struct WarmupCosineSchedule: Codable, Sendable, Equatable {
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minimum: Double

    public init(peak: Double, warmupSteps: Int, totalSteps: Int, minimum: Double = 0) throws {
        guard peak > 0, peak.isFinite else { throw ConfigurationError("WarmupCosineSchedule", "peak learning rate must be positive and finite, got \(peak)") }
        guard minimum >= 0, minimum <= peak else { throw ConfigurationError("WarmupCosineSchedule", "minimum \(minimum) must be in [0, peak \(peak)]") }
        guard warmupSteps >= 0, totalSteps >= 1, warmupSteps <= totalSteps else {
            throw ConfigurationError("WarmupCosineSchedule", "need 0 ≤ warmup (\(warmupSteps)) ≤ total (\(totalSteps)) and total ≥ 1")
        }
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let decaySteps = totalSteps - warmupSteps
        let progress = decaySteps == 0 ? 1 : min(1, Double(step - warmupSteps) / Double(decaySteps))
        return minimum + 0.5 * (peak - minimum) * (1 + Double.cos(Double.pi * progress))
    }
}
