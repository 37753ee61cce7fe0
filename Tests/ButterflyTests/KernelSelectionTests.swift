import PixelflyCore
import Testing

@Suite("OpenBLAS kernel selection")
struct KernelSelectionTests {
    let avx512 = CPUFeatures(modelName: "Xeon", logicalCores: 2,
                             flags: ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"])
    let avx2 = CPUFeatures(modelName: "EPYC", logicalCores: 2, flags: ["avx", "avx2", "fma"])
    let old = CPUFeatures(modelName: "Core2", logicalCores: 2, flags: ["sse2", "ssse3"])

    @Test func recommendsTheFastestFamilyTheCPUSupports() {
        #expect(KernelSelection.recommendedCoreType(for: avx512, currentCore: "Prescott") == "SkylakeX")
        #expect(KernelSelection.recommendedCoreType(for: avx512, currentCore: "Haswell") == "SkylakeX")
        #expect(KernelSelection.recommendedCoreType(for: avx512, currentCore: "SkylakeX") == nil)
        #expect(KernelSelection.recommendedCoreType(for: avx2, currentCore: "Prescott") == "Haswell")
        #expect(KernelSelection.recommendedCoreType(for: avx2, currentCore: "Zen") == nil)
        #expect(KernelSelection.recommendedCoreType(for: old, currentCore: "Prescott") == nil)
    }

    @Test func parsesCPUInfo() {
        let text = """
        processor\t: 0
        model name\t: Intel(R) Xeon(R) Platinum
        flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq avx512cd

        processor\t: 1
        model name\t: Intel(R) Xeon(R) Platinum
        flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq avx512cd
        """
        let cpu = CPUFeatures.parse(cpuinfo: text)
        #expect(cpu.modelName == "Intel(R) Xeon(R) Platinum")
        #expect(cpu.logicalCores == 2)
        #expect(cpu.hasAVX512 && cpu.hasAVX2)
    }

    /// On this machine: the library reports a kernel, and it is not the slow generic one when
    /// the CPU supports better (tests run without the bench's restart, so this documents the
    /// state rather than asserting speed).
    @Test func runtimeReportsKernelAndThreads() {
        #expect(!OpenBLASRuntime.coreName.isEmpty && OpenBLASRuntime.coreName != "unknown")
        #expect(OpenBLASRuntime.threads >= 1)
        let saved = OpenBLASRuntime.threads
        OpenBLASRuntime.threads = 1
        #expect(OpenBLASRuntime.threads == 1)
        OpenBLASRuntime.threads = saved
    }
}
