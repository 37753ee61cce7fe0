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
        #expect(cpu.physicalCores == nil, "no core ids: the topology is unknown")
        #expect(cpu.coreSummary == "2 logical cores")
        #expect(cpu.hasAVX512 && cpu.hasAVX2)
    }

    /// A cloud guest's model name ("AMD EPYC") hides the generation; the signature names it, and
    /// a signature outside the table is printed as numbers only.
    @Test func namesTheMicroarchitectureFromTheSignature() {
        func cpu(_ vendor: String, family: Int, model: Int, stepping: Int) -> CPUFeatures {
            CPUFeatures.parse(cpuinfo: """
                processor\t: 0
                vendor_id\t: \(vendor)
                cpu family\t: \(family)
                model\t\t: \(model)
                model name\t: AMD EPYC
                stepping\t: \(stepping)
                flags\t\t: avx2 fma
                """)
        }
        #expect(cpu("AuthenticAMD", family: 23, model: 49, stepping: 0).identity == "AMD EPYC (family 23 model 49 stepping 0, Zen 2)")
        #expect(cpu("AuthenticAMD", family: 25, model: 1, stepping: 1).signature?.microarchitecture == "Zen 3")
        #expect(cpu("AuthenticAMD", family: 25, model: 17, stepping: 1).signature?.microarchitecture == "Zen 4")
        #expect(cpu("GenuineIntel", family: 6, model: 85, stepping: 4).signature?.microarchitecture == "Skylake-SP")
        #expect(cpu("GenuineIntel", family: 6, model: 85, stepping: 7).signature?.microarchitecture == "Cascade Lake")
        #expect(cpu("GenuineIntel", family: 6, model: 85, stepping: 11).signature?.microarchitecture == "Cooper Lake")
        #expect(cpu("GenuineIntel", family: 6, model: 143, stepping: 8).signature?.microarchitecture == "Sapphire Rapids")
        #expect(cpu("GenuineIntel", family: 6, model: 42, stepping: 7).identity == "AMD EPYC (family 6 model 42 stepping 7)")
        #expect(CPUFeatures.parse(cpuinfo: "model name\t: Xeon\n").identity == "Xeon", "no signature: the model name alone")
    }

    /// Hardware threads of one core (a 2-vCPU cloud machine with Hyper-Threading) read as one
    /// physical core; cores with the same core id on different sockets stay distinct.
    @Test func countsPhysicalCoresFromCoreIDs() {
        func processor(_ index: Int, socket: Int, core: Int) -> String {
            "processor\t: \(index)\nmodel name\t: Xeon\nflags\t\t: avx2 fma\nphysical id\t: \(socket)\ncore id\t\t: \(core)\n"
        }
        let siblings = CPUFeatures.parse(cpuinfo: processor(0, socket: 0, core: 0) + "\n" + processor(1, socket: 0, core: 0))
        #expect(siblings.physicalCores == 1)
        #expect(siblings.coreSummary == "2 logical cores on 1 physical core")
        let sockets = CPUFeatures.parse(cpuinfo: [processor(0, socket: 0, core: 0), processor(1, socket: 1, core: 0),
                                                  processor(2, socket: 0, core: 1), processor(3, socket: 1, core: 1)].joined(separator: "\n"))
        #expect(sockets.physicalCores == 4)
        let partial = CPUFeatures.parse(cpuinfo: processor(0, socket: 0, core: 0) + "\nprocessor\t: 1\nmodel name\t: Xeon\n")
        #expect(partial.physicalCores == nil, "a processor without a core id leaves the topology unknown")
    }

    /// The kernel family OpenBLAS reports is one of its x86-64 families (or, off x86-64, any
    /// name), and when `OPENBLAS_CORETYPE` is set — as `scripts/test-kernel-families.sh` does for
    /// each family — it is exactly that one, so a run "under SkylakeX" really ran SkylakeX kernels.
    @Test func runtimeReportsKernelAndThreads() {
        let core = OpenBLASRuntime.coreName
        if let requested = OpenBLASRuntime.coreTypeOverride, !requested.isEmpty {
            #expect(core.lowercased() == requested.lowercased(), "OPENBLAS_CORETYPE=\(requested) but OpenBLAS runs \(core)")
        }
        #if arch(x86_64)
        // OpenBLAS 0.3.21's corename table (driver/others/dynamic.c), and later versions' additions.
        let families = ["Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn",
                        "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano",
                        "Sandybridge", "Bobcat", "Bulldozer", "Piledriver", "Haswell", "Steamroller", "Excavator",
                        "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"]
        #expect(families.contains(core), "unexpected OpenBLAS core \(core)")
        #else
        #expect(!core.isEmpty && core != "unknown")
        #endif
        #expect(OpenBLASRuntime.threads >= 1)
        let saved = OpenBLASRuntime.threads
        OpenBLASRuntime.threads = 1
        #expect(OpenBLASRuntime.threads == 1)
        OpenBLASRuntime.threads = saved
    }
}
