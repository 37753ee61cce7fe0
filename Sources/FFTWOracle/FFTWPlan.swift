import CFFTW
import PixelflyCore
import Synchronization

/// FFTW's planner (plan creation and destruction) is not thread-safe; only `fftw_execute` is.
/// Every plan in this module is created and destroyed while holding this lock.
let plannerLock = Mutex(())

/// An FFTW plan pointer passed out of the planner lock (plans are immutable once created and
/// `fftw_execute` is thread-safe, so handing the pointer across threads is sound).
struct PlanHandle: @unchecked Sendable {
    let pointer: OpaquePointer?
}

/// What an `FFTWPlan` computes.
public enum FFTWTransform: Hashable, Sendable {
    /// Unnormalised DFT, X_k = Σ_j x_j·e^{−2πi jk/n}.
    case forwardDFT
    /// Unnormalised inverse, x_j = Σ_k X_k·e^{+2πi jk/n} (no 1/n).
    case backwardDFT
    /// REDFT10, the unnormalised DCT-II: X_k = 2·Σ_j x_j·cos(π k (2j+1) / (2n)).
    case dct2
}

/// How hard FFTW plans: ESTIMATE is deterministic; MEASURE times candidates (faster plans,
/// run-to-run variation). Reports record which one was used.
public enum FFTWPlannerFlag: String, Hashable, Sendable, CaseIterable {
    case estimate = "FFTW_ESTIMATE"
    case measure = "FFTW_MEASURE"

    var rawFlags: UInt32 {
        switch self {
        case .estimate: return UInt32(FFTW_ESTIMATE)
        case .measure: return UInt32(FFTW_MEASURE)
        }
    }
}

/// An FFTW plan with the aligned buffers it was planned on, for `batch` transforms of length n.
///
/// Complex transforms hold `2·n·batch` interleaved scalars per buffer, DCT `n·batch`. Fill
/// `input`, call `execute()`, read `output`. One plan must not be executed from two threads at
/// once (its buffers are shared); `FFTWPlanCache` serialises that for you.
public final class FFTWPlan<Scalar: FFTWScalar>: @unchecked Sendable {
    public let transform: FFTWTransform
    public let n: Int
    public let batch: Int
    public let flag: FFTWPlannerFlag
    public let input: UnsafeMutableBufferPointer<Scalar>
    public let output: UnsafeMutableBufferPointer<Scalar>
    private let plan: OpaquePointer
    /// Serialises use of the shared buffers by `FFTWPlanCache`.
    let executionLock = Mutex(())

    public init(_ transform: FFTWTransform, n: Int, batch: Int = 1, flag: FFTWPlannerFlag = .estimate) throws {
        guard n >= 1, batch >= 1 else {
            throw ShapeError("FFTWPlan", "length and batch must be positive, got n = \(n), batch = \(batch)")
        }
        let count = (transform == .dct2 ? 1 : 2) * n * batch
        let inputPointer = Scalar.allocate(count)
        let outputPointer = Scalar.allocate(count)
        let handle: PlanHandle = plannerLock.withLock { _ in
            switch transform {
            case .forwardDFT:
                return PlanHandle(pointer: Scalar.planDFT(n: n, howMany: batch, input: inputPointer, output: outputPointer, sign: FFTW_FORWARD, flags: flag.rawFlags))
            case .backwardDFT:
                return PlanHandle(pointer: Scalar.planDFT(n: n, howMany: batch, input: inputPointer, output: outputPointer, sign: FFTW_BACKWARD, flags: flag.rawFlags))
            case .dct2:
                return PlanHandle(pointer: Scalar.planR2R(n: n, howMany: batch, input: inputPointer, output: outputPointer, kind: FFTW_REDFT10, flags: flag.rawFlags))
            }
        }
        guard let created = handle.pointer else {
            Scalar.release(inputPointer)
            Scalar.release(outputPointer)
            throw ShapeError("FFTWPlan", "FFTW could not plan \(transform) of length \(n) × \(batch)")
        }
        self.transform = transform
        self.n = n
        self.batch = batch
        self.flag = flag
        self.plan = created
        self.input = UnsafeMutableBufferPointer(start: inputPointer, count: count)
        self.output = UnsafeMutableBufferPointer(start: outputPointer, count: count)
        // MEASURE planning overwrites the buffers; start from zeros either way.
        input.update(repeating: 0)
        output.update(repeating: 0)
    }

    /// Runs the transform from `input` to `output` (thread-safe with respect to other plans).
    public func execute() { Scalar.execute(plan) }

    deinit {
        let handle = PlanHandle(pointer: plan)
        plannerLock.withLock { _ in Scalar.destroy(handle.pointer!) }
        Scalar.release(input.baseAddress!)
        Scalar.release(output.baseAddress!)
    }
}
