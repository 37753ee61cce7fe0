/// A CPU's vendor, family, model and stepping as /proc/cpuinfo gives them (decimal), and the
/// microarchitecture they name where it is one of the x86 server generations in the table
/// below. Cloud guests often show one model name ("AMD EPYC", "Intel Xeon Processor") for
/// several generations, whose kernels and caches differ: the signature tells them apart, so
/// that every figure the bench prints names the CPU it came from.
public struct CPUSignature: Sendable, Equatable, CustomStringConvertible {
    public var vendor: String
    public var family: Int
    public var model: Int
    public var stepping: Int?

    public init(vendor: String, family: Int, model: Int, stepping: Int? = nil) {
        self.vendor = vendor
        self.family = family
        self.model = model
        self.stepping = stepping
    }

    /// "Zen 2", "Cascade Lake", …; nil for a signature the table does not hold.
    ///
    /// AMD: family 0x17 is Zen or Zen+ below model 0x30 and Zen 2 from it; 0x19 is Zen 3 except
    /// the Zen 4 models (0x10–0x1F, 0x60–0x7F, 0xA0–0xAF); 0x1A is Zen 5. Intel family 6: the
    /// Xeon server models since Haswell; model 0x55 is Skylake-SP at steppings up to 4, Cascade
    /// Lake at 5–7 and Cooper Lake at 10–11 (Intel's SDM, table "CPUID Signature Values").
    public var microarchitecture: String? {
        switch vendor {
        case "AuthenticAMD":
            switch family {
            case 0x17: return model < 0x30 ? "Zen or Zen+" : "Zen 2"
            case 0x19: return [0x10...0x1F, 0x60...0x7F, 0xA0...0xAF].contains { $0.contains(model) } ? "Zen 4" : "Zen 3"
            case 0x1A: return "Zen 5"
            default: return nil
            }
        case "GenuineIntel" where family == 6:
            switch model {
            case 0x3F: return "Haswell"
            case 0x4F, 0x56: return "Broadwell"
            case 0x55:
                guard let stepping else { return "Skylake-SP or Cascade Lake" }
                return stepping >= 10 ? "Cooper Lake" : stepping >= 5 ? "Cascade Lake" : "Skylake-SP"
            case 0x6A, 0x6C: return "Ice Lake-SP"
            case 0x8F: return "Sapphire Rapids"
            case 0xCF: return "Emerald Rapids"
            case 0xAD, 0xAE: return "Granite Rapids"
            default: return nil
            }
        default:
            return nil
        }
    }

    /// "family 23 model 49 stepping 0, Zen 2".
    public var description: String {
        var text = "family \(family) model \(model)"
        if let stepping { text += " stepping \(stepping)" }
        if let microarchitecture { text += ", \(microarchitecture)" }
        return text
    }
}
