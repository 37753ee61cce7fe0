import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a figure was measured: printed as a header and stored in every JSON result.
struct RunEnvironment: Codable, Sendable {
    var cpuModel: String
    var logicalCores: Int
    var openBLASCore: String
    var openBLASThreads: Int
    var openBLASCoreTypeVariable: String?
    var openBLASConfiguration: String
    var buildConfiguration: String

    static func current() -> RunEnvironment {
        let cpu = CPUFeatures.current()
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return RunEnvironment(
            cpuModel: cpu.modelName, logicalCores: cpu.logicalCores,
            openBLASCore: OpenBLASRuntime.coreName, openBLASThreads: OpenBLASRuntime.threads,
            openBLASCoreTypeVariable: OpenBLASRuntime.coreTypeOverride,
            openBLASConfiguration: OpenBLASRuntime.configuration, buildConfiguration: build)
    }

    var header: String {
        """
        CPU: \(cpuModel), \(logicalCores) logical cores; \(buildConfiguration) build
        \(OpenBLASRuntime.summary)
        OpenBLAS build: \(openBLASConfiguration)
        """
    }
}
