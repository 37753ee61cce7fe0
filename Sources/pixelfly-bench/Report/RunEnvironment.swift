import Butterfly
import Foundation
import PixelflyCore

/// Where a figure was measured: printed as a header and stored in every JSON result.
struct RunEnvironment: Codable, Sendable {
    var cpuModel: String
    /// Family, model, stepping and microarchitecture ("family 23 model 49 stepping 0, Zen 2");
    /// nil in results written before it was recorded.
    var cpuSignature: String?
    var logicalCores: Int
    /// nil when /proc/cpuinfo gives no core ids (and in results written before it was recorded).
    var physicalCores: Int?
    var openBLASCore: String
    /// Threads of the library's parallel regions (`ComputeThreads.count`); OpenBLAS itself runs
    /// one thread per call, on each of them.
    var computeThreads: Int
    var openBLASThreadsPerCall: Int
    var openBLASCoreTypeVariable: String?
    var openBLASConfiguration: String
    /// The instruction set LIBXSMM generates the block-sparse kernels for ("hsw", "skx", "cpx", …).
    var libxsmmTarget: String?
    /// Which block-sparse kernel runs at which batch (`BlockSparseBackend.automaticSummary`; nil
    /// in results written before the kernel was chosen per call).
    var blockSparseKernels: String?
    var fftwPlannerFlag: String
    var swiftCompiler: String
    var buildConfiguration: String
    var gitCommit: String
    var date: String
    var hostLoadAverage: String
    /// One core's FMA peak per vector width (measured once per process), or nil where the run
    /// did not measure it.
    var fmaPeak: FMAPeak?

    /// The environment of this process. `measuresFMAPeak: false` skips the FMA probe: a
    /// `train --step-gate` child starts at the same moment as its siblings and PyTorch's
    /// companion, so its probe would share the cores with them (on a 2-core Intel Xeon the
    /// children of one job read 66–70 and 130–163 GFLOP/s against the parent's 127 and 248).
    /// The job's own header, printed before the children start, carries the measured peak.
    static func current(fftwPlannerFlag: String = "FFTW_ESTIMATE", measuresFMAPeak: Bool = true) -> RunEnvironment {
        let cpu = CPUFeatures.current()
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return RunEnvironment(
            cpuModel: cpu.modelName, cpuSignature: cpu.signature?.description, logicalCores: cpu.logicalCores, physicalCores: cpu.physicalCores,
            openBLASCore: OpenBLASRuntime.coreName, computeThreads: ComputeThreads.count,
            openBLASThreadsPerCall: OpenBLASRuntime.threads,
            openBLASCoreTypeVariable: OpenBLASRuntime.coreTypeOverride,
            openBLASConfiguration: OpenBLASRuntime.configuration,
            libxsmmTarget: BlockSparseBackend.libxsmmTarget,
            blockSparseKernels: BlockSparseBackend.automaticSummary,
            fftwPlannerFlag: fftwPlannerFlag,
            swiftCompiler: compilerVersion, buildConfiguration: build,
            gitCommit: gitDescription(), date: ISO8601DateFormatter().string(from: Date()),
            hostLoadAverage: loadAverage(), fmaPeak: measuresFMAPeak ? .current : nil)
    }

    /// "AMD EPYC (family 23 model 49 stepping 0, Zen 2)", or the model name alone.
    var cpu: String { CPUFeatures.identity(modelName: cpuModel, signature: cpuSignature) }

    /// "2 logical cores on 1 physical core" (two compute threads then share one core), or
    /// "2 logical cores" when the topology is unknown.
    var cores: String {
        CPUFeatures(modelName: cpuModel, logicalCores: logicalCores, physicalCores: physicalCores, flags: []).coreSummary
    }

    /// CPU, OpenBLAS kernel family and LIBXSMM target in one phrase, for verdict lines.
    var machine: String {
        "\(cpu), OpenBLAS \(openBLASCore), LIBXSMM \(libxsmmTarget ?? "unknown")"
    }

    var header: String {
        """
        CPU: \(cpu), \(cores); \(buildConfiguration) build; \(swiftCompiler); commit \(gitCommit)
        \(OpenBLASRuntime.summary)
        OpenBLAS build: \(openBLASConfiguration); LIBXSMM target \(libxsmmTarget ?? "unknown"); load average \(hostLoadAverage)
        \(blockSparseKernels ?? "block-sparse kernel: not recorded")
        \(fmaPeak?.summary ?? "FMA peak of one core: not measured in this process")
        """
    }
}

/// The compiler that built this binary (compile-time conditions; Swift has no runtime query).
private let compilerVersion: String = {
    #if compiler(>=6.4)
    return "Swift ≥ 6.4"
    #elseif compiler(>=6.3)
    return "Swift 6.3"
    #elseif compiler(>=6.2)
    return "Swift 6.2"
    #else
    return "Swift 6.1"
    #endif
}()

/// `git describe --always --dirty` of the working directory, or "unknown" outside a checkout.
private func gitDescription() -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "describe", "--always", "--dirty", "--abbrev=12"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
        process.waitUntilExit()
    } catch {
        return "unknown"
    }
    guard process.terminationStatus == 0 else { return "unknown" }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The 1/5/15-minute load averages from /proc/loadavg (a busy machine makes timings noisy).
private func loadAverage() -> String {
    guard let text = try? readTextFile("/proc/loadavg") else { return "unknown" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}
