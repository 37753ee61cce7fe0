#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock time in seconds (CLOCK_MONOTONIC), for step and benchmark timing.
public func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
