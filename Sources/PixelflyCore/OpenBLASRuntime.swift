import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// What OpenBLAS is running with, and control of its thread count.
///
/// Every timed figure in this project reports `OpenBLASRuntime.summary` next to it.
public enum OpenBLASRuntime {
    /// The kernel family OpenBLAS selected when it loaded, e.g. "Haswell", "SkylakeX", "Zen",
    /// or the slow generic "Prescott".
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Whether OpenBLAS runs an AVX-512 kernel family (`SkylakeX`, `Cooperlake`, …).
    public static var usesAVX512Kernels: Bool { KernelSelection.avx512Families.contains(coreName) }

    /// Whether OpenBLAS runs a family with at least AVX2 + FMA (`Haswell`, `Zen`, and the AVX-512 ones).
    public static var usesAVX2Kernels: Bool { KernelSelection.avx2Families.contains(coreName) }

    /// Whether OpenBLAS runs Intel's AVX family without AVX2 (`Sandybridge`: Sandy Bridge and Ivy
    /// Bridge cores). AMD's AVX families of that time (`Bulldozer` to `Excavator`) are not counted.
    public static var usesAVXOnlyKernels: Bool { KernelSelection.avxOnlyFamilies.contains(coreName) }

    /// OpenBLAS's build configuration string (version, DYNAMIC_ARCH, …).
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config).trimmingCharacters(in: " ")
    }

    /// Threads OpenBLAS uses for one call. `ComputeThreads` keeps this at 1 and runs calls on
    /// its own threads; raising it makes OpenBLAS's idle workers compete with them.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(newValue, 1))) }
    }

    /// The value of `OPENBLAS_CORETYPE` in this process's environment, if set.
    public static var coreTypeOverride: String? {
        getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
    }

    /// One line for reports:
    /// `OpenBLAS core Haswell, 2 compute threads × 1 OpenBLAS thread per call (OPENBLAS_CORETYPE=Haswell)`.
    public static var summary: String {
        let override = coreTypeOverride.map { "OPENBLAS_CORETYPE=\($0)" } ?? "OPENBLAS_CORETYPE unset"
        let compute = ComputeThreads.count
        return "OpenBLAS core \(coreName), \(compute) compute thread\(compute == 1 ? "" : "s") × \(threads) OpenBLAS "
            + "thread\(threads == 1 ? "" : "s") per call (\(override))"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
