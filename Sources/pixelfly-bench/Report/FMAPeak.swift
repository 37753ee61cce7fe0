import CVectorKernels
import PixelflyCore

/// One core's peak single-precision FMA rate per vector width (`pixelfly_fma_chains_f32`:
/// twelve independent FMA chains in registers, no memory traffic), so that a GEMM's GFLOP/s can
/// be read as a fraction of what the core can issue at all. Measured once per process on the
/// calling thread: the best of five runs of 20 million rounds (about 35 ms each at 3.5 GHz).
struct FMAPeak: Codable, Sendable {
    /// GFLOP/s with 8-lane (AVX2+FMA) and 16-lane (AVX-512F) FMAs; nil where the CPU lacks them.
    var avx2: Double?
    var avx512: Double?

    /// Not measured in a debug build: its C code is compiled without optimisation, so the chains
    /// live in memory and the probe would report a small fraction of the peak.
    #if DEBUG
    static let current = FMAPeak(avx2: nil, avx512: nil)
    #else
    static let current = FMAPeak(avx2: measure(lanes: 8), avx512: measure(lanes: 16))
    #endif

    /// The peak of the vector width OpenBLAS's dense kernels use (AVX-512 families: 16 lanes;
    /// `Haswell`/`Zen`: 8), or nil for the SSE families and non-x86 CPUs.
    var forDenseKernels: Double? {
        if OpenBLASRuntime.usesAVX512Kernels { return avx512 }
        return OpenBLASRuntime.usesAVX2Kernels ? avx2 : nil
    }

    var summary: String {
        #if DEBUG
        return "FMA peak of one core: not measured in a debug build"
        #else
        func text(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "n/a" }
        return "FMA peak of one core (fp32): AVX2 \(text(avx2)) GFLOP/s, AVX-512 \(text(avx512)) GFLOP/s"
        #endif
    }

    private static func measure(lanes: Int) -> Double? {
        let count = Int(PIXELFLY_FMA_CHAINS) * lanes
        let start = (0..<count).map { Float($0 % 7) }
        var out = [Float](repeating: 0, count: count)
        let rounds = 20_000_000
        var best = 0.0
        for _ in 0..<5 {
            let began = monotonicSeconds()
            guard pixelfly_fma_chains_f32(Int32(lanes), rounds, start, 0.9999, 0.001, &out) == 1 else { return nil }
            let seconds = monotonicSeconds() - began
            best = max(best, 2 * Double(count) * Double(rounds) / seconds / 1e9)
        }
        return best
    }
}
