/// The instruction-set extensions of this CPU that matter for BLAS kernel choice.
public struct CPUFeatures: Sendable, Equatable {
    public var modelName: String
    /// `vendor_id`, `cpu family`, `model` and `stepping` of /proc/cpuinfo: a virtual machine may
    /// show a model name such as "AMD EPYC" for several generations, these tell them apart.
    public var signature: CPUSignature?
    public var logicalCores: Int
    /// Distinct (physical id, core id) pairs: fewer than `logicalCores` when hardware threads
    /// share a core (Hyper-Threading, SMT), so that two compute threads may be one core's two
    /// threads. nil when /proc/cpuinfo does not say.
    public var physicalCores: Int?
    public var flags: Set<String>

    public init(modelName: String, signature: CPUSignature? = nil, logicalCores: Int, physicalCores: Int? = nil,
                flags: Set<String>) {
        self.modelName = modelName
        self.signature = signature
        self.logicalCores = logicalCores
        self.physicalCores = physicalCores
        self.flags = flags
    }

    /// "2 logical cores on 1 physical core", or "2 logical cores" when the topology is unknown.
    public var coreSummary: String {
        let logical = "\(logicalCores) logical core\(logicalCores == 1 ? "" : "s")"
        guard let physicalCores else { return logical }
        return logical + " on \(physicalCores) physical core\(physicalCores == 1 ? "" : "s")"
    }

    /// "AMD EPYC (family 23 model 49 stepping 0, Zen 2)": the model name and, when known, the
    /// signature and the microarchitecture it belongs to.
    public var identity: String { Self.identity(modelName: modelName, signature: signature?.description) }

    /// `identity` from a model name and a signature's description (as stored in bench results).
    public static func identity(modelName: String, signature: String?) -> String {
        signature.map { "\(modelName) (\($0))" } ?? modelName
    }

    /// AVX-512 Foundation plus the BW/VL/DQ/CD subsets that OpenBLAS's SkylakeX kernels use.
    public var hasAVX512: Bool {
        ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains)
    }

    public var hasAVX2: Bool { flags.contains("avx2") && flags.contains("fma") }

    /// Parses the text of `/proc/cpuinfo` (the first processor's `model name`, signature and
    /// `flags`; the cores from every processor's `physical id` and `core id`, when each processor
    /// has both).
    public static func parse(cpuinfo text: String) -> CPUFeatures {
        var model = "unknown"
        var vendor: String?, family: Int?, modelNumber: Int?, stepping: Int?
        var flags = Set<String>()
        var processors = 0
        var cores = Set<String>(), coreIDs = 0
        var physicalID = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingWhitespace()
            let value = parts[1].trimmingWhitespace()
            switch key {
            case "processor": processors += 1; physicalID = ""
            case "model name" where model == "unknown": model = value
            case "vendor_id" where vendor == nil: vendor = value
            case "cpu family" where family == nil: family = Int(value)
            case "model" where modelNumber == nil: modelNumber = Int(value)
            case "stepping" where stepping == nil: stepping = Int(value)
            case "flags" where flags.isEmpty: flags = Set(value.split(separator: " ").map(String.init))
            case "physical id": physicalID = value
            case "core id": coreIDs += 1; cores.insert(physicalID + "/" + value)
            default: break
            }
        }
        let physical = coreIDs == processors && processors > 0 ? cores.count : nil
        let signature = family.flatMap { family in
            modelNumber.map { CPUSignature(vendor: vendor ?? "unknown", family: family, model: $0, stepping: stepping) }
        }
        return CPUFeatures(modelName: model, signature: signature, logicalCores: max(processors, 1),
                           physicalCores: physical, flags: flags)
    }

    /// This machine's features, read from `/proc/cpuinfo` (empty flags if it cannot be read).
    public static func current() -> CPUFeatures {
        guard let text = try? readTextFile("/proc/cpuinfo") else {
            return CPUFeatures(modelName: "unknown", logicalCores: 1, flags: [])
        }
        return parse(cpuinfo: text)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
