import PixelflyCore
import Synchronization

/// Plans cached by (transform, n, batch, flag), safe to use from many threads at once.
///
/// Plans are created under FFTW's planner lock, reused across calls, and freed when the cache
/// is cleared or deallocated. `shared` serves the convenience functions below.
public final class FFTWPlanCache<Scalar: FFTWScalar>: Sendable {
    struct Key: Hashable {
        let transform: FFTWTransform
        let n: Int
        let batch: Int
        let flag: FFTWPlannerFlag
    }

    private let plans = Mutex<[Key: FFTWPlan<Scalar>]>([:])

    public init() {}

    /// The cached plan, created on first use.
    public func plan(_ transform: FFTWTransform, n: Int, batch: Int, flag: FFTWPlannerFlag = .estimate) throws -> FFTWPlan<Scalar> {
        let key = Key(transform: transform, n: n, batch: batch, flag: flag)
        if let plan = plans.withLock({ $0[key] }) { return plan }
        let plan = try FFTWPlan<Scalar>(transform, n: n, batch: batch, flag: flag)
        return plans.withLock { cache in
            if let existing = cache[key] { return existing }
            cache[key] = plan
            return plan
        }
    }

    /// Number of plans held.
    public var count: Int { plans.withLock { $0.count } }

    /// Frees every cached plan (plans still referenced elsewhere live until released).
    public func removeAll() { plans.withLock { $0.removeAll() } }

    /// Applies `transform` to `batch` contiguous signals: interleaved complex (2n scalars each)
    /// for the DFTs, real (n scalars each) for the DCT. Returns the transformed signals.
    public func apply(_ transform: FFTWTransform, n: Int, to signals: [Scalar], flag: FFTWPlannerFlag = .estimate) throws -> [Scalar] {
        let perSignal = (transform == .dct2 ? 1 : 2) * n
        guard n > 0, !signals.isEmpty, signals.count % perSignal == 0 else {
            throw ShapeError("FFTWPlanCache.apply", "\(signals.count) scalars is not a whole number of length-\(n) signals (\(perSignal) scalars each)")
        }
        let plan = try self.plan(transform, n: n, batch: signals.count / perSignal, flag: flag)
        return plan.executionLock.withLock { _ in
            _ = plan.input.update(fromContentsOf: signals)
            plan.execute()
            return Array(plan.output)
        }
    }
}

extension FFTWPlanCache where Scalar == Float {
    public static var shared: FFTWPlanCache<Float> { sharedFloatCache }
}

extension FFTWPlanCache where Scalar == Double {
    public static var shared: FFTWPlanCache<Double> { sharedDoubleCache }
}

private let sharedFloatCache = FFTWPlanCache<Float>()
private let sharedDoubleCache = FFTWPlanCache<Double>()
