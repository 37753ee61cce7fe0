#if canImport(Glibc)
import Glibc
#endif

/// Makes sure a process that times work runs OpenBLAS's fast kernels.
///
/// Debian's OpenBLAS 0.3.21 does not recognise some recent CPUs and falls back to generic
/// "Prescott" kernels, about 5× slower than the AVX-512 ("SkylakeX") or AVX2 ("Haswell")
/// kernels the CPU supports. The core type is read when the library loads, so the only fix is
/// to set `OPENBLAS_CORETYPE` before the process starts: `ensureFastKernels` re-executes the
/// current program with it set when the user has not chosen a core type.
///
/// Library users (who do not go through the bench) must set the variable themselves, e.g.
/// `OPENBLAS_CORETYPE=SkylakeX` on an AVX-512 machine.
public enum KernelSelection {
    /// Kernel families that use at least AVX2 + FMA (any of them is fast on an AVX2 CPU).
    static let avx2Families: Set<String> = ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]
    /// Intel's kernel family with AVX but not AVX2.
    static let avxOnlyFamilies: Set<String> = ["Sandybridge"]
    /// Kernel families that use AVX-512.
    static let avx512Families: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// The core type to request for a CPU, or nil if `currentCore` already fits its features.
    ///
    /// AVX-512 → "SkylakeX"; AVX2 + FMA → "Haswell"; otherwise nil (nothing better to ask for).
    public static func recommendedCoreType(for cpu: CPUFeatures, currentCore: String) -> String? {
        if cpu.hasAVX512 {
            return avx512Families.contains(currentCore) ? nil : "SkylakeX"
        }
        if cpu.hasAVX2 {
            return avx2Families.contains(currentCore) ? nil : "Haswell"
        }
        return nil
    }

    /// If `OPENBLAS_CORETYPE` is unset and OpenBLAS chose kernels slower than the CPU supports,
    /// re-executes this program with the right core type (same arguments). Returns normally
    /// when no restart is needed or possible; never returns after a successful restart.
    public static func ensureFastKernels(arguments: [String] = CommandLine.arguments) {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return }
        // Guards against a loop if OpenBLAS ignores the variable.
        guard getenv("PIXELFLY_KERNEL_REEXEC") == nil else { return }
        let cpu = CPUFeatures.current()
        guard let coreType = recommendedCoreType(for: cpu, currentCore: OpenBLASRuntime.coreName) else { return }
        setenv("OPENBLAS_CORETYPE", coreType, 1)
        setenv("PIXELFLY_KERNEL_REEXEC", "1", 1)
        writeToStandardError("pixelfly: OpenBLAS chose \(OpenBLASRuntime.coreName) kernels on a CPU with "
              + "\(cpu.hasAVX512 ? "AVX-512" : "AVX2"); restarting with OPENBLAS_CORETYPE=\(coreType)\n")
        var cArguments = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv("/proc/self/exe", cArguments)
        // execv returns only on failure: carry on with the slow kernels, loudly.
        writeToStandardError("pixelfly: restart failed (\(String(cString: strerror(errno)))); timing with \(OpenBLASRuntime.coreName) kernels\n")
        for pointer in cArguments { free(pointer) }
    }
}

/// Writes `message` to file descriptor 2 (no buffered `stderr` global, which Swift 6 rejects).
public func writeToStandardError(_ message: String) {
    var bytes = Array(message.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
