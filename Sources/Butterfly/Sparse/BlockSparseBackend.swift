import CLibXSMM
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// The kernels a `BlockSparseLinear` runs its products on.
///
/// New layers use `preferred(for:)`: LIBXSMM where its code is as wide as OpenBLAS's dense
/// kernels — AVX-512 on both sides, AVX2 on both, or AVX on both (`libxsmmMatchesOpenBLAS`) —
/// and OpenBLAS elsewhere, so the block-sparse products never use a wider instruction set than
/// the dense products they are compared with. A process started with `OPENBLAS_CORETYPE=Haswell` on an AVX-512 CPU runs AVX2
/// dense kernels while LIBXSMM would generate AVX-512 code; it gets the OpenBLAS kernel unless
/// LIBXSMM is narrowed too (`LIBXSMM_TARGET=hsw`, or `matchLIBXSMMToOpenBLAS()`, which the bench
/// calls at start).
///
/// Measured (notebooks-md/kernel-passes/01-libxsmm-kernel.md): with AVX-512 on both sides the
/// LIBXSMM kernel took 0.215–0.27× dense time at batch ≥ 1024 against 0.22–0.41× for the OpenBLAS
/// one (AMD Zen 5). With AVX2 on both sides, on the Intel Xeon of the twelfth and thirteenth
/// passes, LIBXSMM was faster in 6 of the 8 batch-1024 layer rows and in the Mixer training step,
/// where its fused GELU, bias and low-rank epilogues save passes over the activations. (An older
/// LIBXSMM path, on Zen 5, had lost to the OpenBLAS kernel under AVX2: 0.22–0.32× against
/// 0.21–0.29×.)
public enum BlockSparseBackend: String, Sendable, Codable, CaseIterable {
    /// LIBXSMM batch-reduce GEMM over strips of blocks, JIT-compiled for the CPU's instruction
    /// set (`BlockSparseXSMMKernel`).
    case libxsmm
    /// One OpenBLAS GEMM per row group or column run (`BlockSparseKernel`).
    case openBLAS

    /// The faster backend on this CPU for `scalar` at large batches and equal instruction-set
    /// width: `.libxsmm` if LIBXSMM generates kernels for `scalar` here and its code is as wide
    /// as OpenBLAS's (`libxsmmMatchesOpenBLAS`); else `.openBLAS`. Decided once per process.
    public static func preferred<S: TensorScalar>(for scalar: S.Type) -> BlockSparseBackend {
        if S.self == Float.self { return preferredFloat }
        if S.self == Double.self { return preferredDouble }
        return .openBLAS
    }

    private static let preferredFloat: BlockSparseBackend = floatAvailable && libxsmmMatchesOpenBLAS ? .libxsmm : .openBLAS
    private static let preferredDouble: BlockSparseBackend = doubleAvailable && libxsmmMatchesOpenBLAS ? .libxsmm : .openBLAS

    /// Batches of fewer rows run on the OpenBLAS kernel under `automatic(for:batch:)`: 256 where
    /// LIBXSMM generates AVX-512 code, 512 where it generates AVX2 code. Decided once per process,
    /// like `preferred`.
    ///
    /// The LIBXSMM path packs S and Sᵀ into strips and the low-rank factors into its layouts on
    /// every call, work proportional to the weights, which a small batch does not amortise; the
    /// OpenBLAS kernel reads the panels as stored. Measured on the Intel Xeon
    /// (notebooks-md/kernel-passes/13-kernel-per-call.md), both kernels in one process, forward +
    /// backward ÷ dense, 4 shapes × 1 and 2 threads × block-sparse and Pixelfly r64:
    /// - AVX-512 (`SkylakeX`, LIBXSMM `cpx`): the OpenBLAS kernel faster in 15 of 16 rows at
    ///   batch 64 (Pixelfly 4096 → 1024, 2 threads: 0.380× against 0.502×) and 10 of 16 at 128;
    ///   LIBXSMM faster in 13 of 16 at 256.
    /// - AVX2 (`Haswell`, LIBXSMM `hsw`): the OpenBLAS kernel faster in 15, 16 and 14 of 16 rows
    ///   at batch 64, 128 and 256; LIBXSMM in 11 of 16 at 512 and 12 of 16 at 1024.
    public static let libxsmmMinimumBatch = libxsmmTargetsAVX512 ? 256 : 512

    /// Tallest strip of the LIBXSMM plans for blocks of `blockSize` (operator rows per
    /// batch-reduce call, `BlockStripPlan`): 64 where LIBXSMM generates AVX-512 code; where it
    /// generates AVX2, one block when b is a multiple of 32, else runs of up to 192 rows, cut into
    /// 32- or 24-row strips (`libxsmmStripSplits(blockSize:)`). Decided per
    /// process, like `preferred`.
    ///
    /// LIBXSMM's AVX-512 kernel runs a strip 64 rows × 6–8 batch rows at a time (24 accumulator
    /// registers), sweeping the strip's whole packed weights (height × kept blocks × b) for every
    /// group of batch rows. At 768 → 3072 (b = 48, 3 blocks per strip) a 192-row strip's weights
    /// take 110 KB and come from L2 for each sweep; a 48-row strip's take 27 KB and stay in L1
    /// (48 KB here). Perf samples per FLOP of the forward strips fell 8 % against the input
    /// gradient's (Intel Xeon, `SkylakeX`, `cpx`, batch 1024, 1 thread), the 768 ↔ 3072 layer
    /// rows were faster in 15 of 16 (f+b ÷ dense, 1 and 2 threads, batch 1024 and 4096, two
    /// alternated runs), the other shapes unchanged within the noise, and the Mixer step faster
    /// in 3 of 3 interleaved rounds. On an AMD EPYC Zen 5 (`Cooperlake`, `cpx`, batch 1024, six
    /// alternated rounds) 32-row strips were 3–8 % slower at b = 32 and level at b = 48, and
    /// 128-row ones (96 at b = 48) level to slower
    /// (notebooks-md/kernel-passes/30-zen5-avx512-current-code.md).
    ///
    /// LIBXSMM's AVX2 code, with 16 registers, runs the strip 32 rows × 3 batch rows at a time
    /// and a remainder of m mod 32 rows with fewer accumulators. With b = 48 a one-block strip
    /// is 32 + 16 rows: under `Haswell` + `hsw` on the Intel Xeon the 768 → 3072 forward took
    /// 0.242–0.247× dense with 48-row strips against 0.206–0.210× with 192 ("Fourteenth
    /// pass"); on an AMD EPYC Zen 3 the two were level. With b = 32 a one-block strip is one
    /// whole m block, and its weights (32 × 32 × 6 blocks = 24 KB at 1024 ↔ 4096) stay in a
    /// 32 KB L1 while the kernel sweeps them: on the Zen 3 (`Zen`, 1 thread, batch 1024,
    /// LIBXSMM pinned) block-sparse forward + backward took 0.213–0.233× dense at 1024 ↔ 4096
    /// with 32-row strips against 0.233–0.282× with 192, in four alternated runs
    /// (notebooks-md/kernel-passes/16-zen3-avx2-rules.md).
    static func libxsmmStripHeight(blockSize b: Int) -> Int {
        if libxsmmTargetsAVX512 { return 64 }
        return b % 32 == 0 ? b : 192
    }

    /// Rows per strip within a run of block rows that keep the same block columns
    /// (`BlockStripPlan`'s `splitHeights`, the first that divides the run): 32, else 24, where
    /// LIBXSMM generates AVX2 code and b is not a multiple of 32; none otherwise. At b = 48,
    /// runs of 192 rows become six 32-row strips and single 48-row block rows two 24-row strips,
    /// each starting and ending wherever those rows fall, block boundaries or not.
    ///
    /// LIBXSMM's AVX2 kernel sweeps a strip's packed weights for every 3 batch rows, 32 rows at a
    /// time with 12 accumulators and a remainder of m mod 32 rows with fewer (a 48-row strip is
    /// 32 + 16, the 16 with 6; a 24-row strip one block of 9, `LIBXSMM_VERBOSE=-1` code).
    /// - 32 rows: a 192-row strip's weights at b = 48 with 3 kept blocks (108 KB) do not fit a
    ///   32 KB L1 and came from L2 on each sweep; a 32-row strip's (18 KB) stay in L1. On an AMD
    ///   EPYC Zen 3 (`Zen`, 1 thread, batch 1024) the 768 → 3072 forward strips took 14–16 %
    ///   fewer perf samples against the same layer's weight gradient, block-sparse and Pixelfly
    ///   r64 `layers` rows at 768 ↔ 3072 were faster in 29 of 40 alternated pairs, and the Mixer
    ///   step in 2 of 3 (notebooks-md/kernel-passes/18-strips-in-48-row-blocks.md).
    /// - 24 rows: the 768 × 3072 operator (S at 3072 → 768, Sᵀ at 768 → 3072) keeps 12 blocks per
    ///   48-row block row, 110 KB of weights per strip, and no run is taller. Halved, each strip
    ///   has 55 KB and every m block saturates the two FMA pipes (9 accumulators ≥ 2 × 4-cycle
    ///   latency; the 16-row remainder's 6 do not). On the same Zen 3 the block-sparse 3072 → 768
    ///   forward took 0.211× dense against 0.241× at 1 thread and 0.208× against 0.238× at 2,
    ///   faster in 12 of 12 alternated pairs; forward + backward at 768 ↔ 3072 was 6 % faster to
    ///   1 % slower across the eight rows, within the noise
    ///   (notebooks-md/kernel-passes/19-zen3-24-row-strips.md).
    ///
    /// Measured for Float; Double follows the same rule unmeasured.
    static func libxsmmStripSplits(blockSize b: Int) -> [Int] {
        !libxsmmTargetsAVX512 && b % 32 != 0 ? [32, 24] : []
    }

    /// Rows of the strips `pixelfly_strip24_f32` computes.
    static let handWrittenStripHeight = 24

    /// Whether 24-row Float strips (and their rank-r term) run the hand-written AVX2 kernel
    /// `pixelfly_strip24_f32` instead of LIBXSMM's: wherever LIBXSMM generates AVX2 code (the one
    /// target whose plans cut 24-row strips, `libxsmmStripSplits`); `XSMMKernelSet` also checks
    /// that the CPU has AVX2+FMA.
    ///
    /// LIBXSMM's m = 24 code keeps 9 accumulators, which leaves the two FMA pipes of a CPU with
    /// 5 cycles' FMA latency a tenth idle; the hand-written kernel keeps 12. On an AMD EPYC Zen 2
    /// (`Zen`, one thread, batch 1024) the 768 × 3072 operator's strips ran at 97.0 against 80.5
    /// GFLOP/s in `scripts/strip-kernel-experiment.c`
    /// (notebooks-md/kernel-passes/22-zen2-hand-written-strip.md has the layer and training
    /// figures). On 4-cycle CPUs both kernels have enough accumulators, and this one needs fewer
    /// loads per FMA (7 per 12 against 6 per 9).
    static var handWrittenStrip24: Bool { libxsmmTargetsAVX2 }

    /// What a layer without a pinned backend runs a `batch`-row product on: `preferred(for:)`
    /// from `libxsmmMinimumBatch` rows up, the OpenBLAS kernel below.
    public static func automatic<S: TensorScalar>(for scalar: S.Type, batch: Int) -> BlockSparseBackend {
        batch >= libxsmmMinimumBatch ? preferred(for: scalar) : .openBLAS
    }

    /// Whether LIBXSMM's code and OpenBLAS's kernels use the same 256- or 512-bit instructions:
    /// AVX-512 on both (LIBXSMM `skx`/`clx`/`cpx`, OpenBLAS `SkylakeX`/`Cooperlake`/…), AVX2 on
    /// both (LIBXSMM `hsw`, OpenBLAS `Haswell`/`Zen`), or AVX without AVX2 on both (LIBXSMM `snb`,
    /// OpenBLAS `Sandybridge`). Not with SSE code on both (LIBXSMM `wsm`, OpenBLAS `Nehalem`).
    ///
    /// The two older pairs were measured on the Zen 2 with both libraries forced to them
    /// (`layers`, the four shapes, batch 1024 and 4096, 1 and 2 threads, two runs;
    /// notebooks-md/kernel-passes/23-pre-avx2-cpus.md): under AVX LIBXSMM was faster in 31 of 32
    /// block-sparse and 32 of 32 Pixelfly r64 rows (Pixelfly 0.270× dense against 0.331× on the
    /// OpenBLAS kernel); under SSE it was not (see there). Measured under emulation only: no Sandy Bridge has run it.
    public static var libxsmmMatchesOpenBLAS: Bool {
        if OpenBLASRuntime.usesAVX512Kernels { return libxsmmTargetsAVX512 }
        if OpenBLASRuntime.usesAVX2Kernels { return libxsmmTargetsAVX2 }
        return OpenBLASRuntime.usesAVXOnlyKernels && libxsmmTargetsAVXOnly
    }

    /// Whether LIBXSMM generates AVX-512 code on this machine (`LIBXSMM_TARGET` overrides).
    public static var libxsmmTargetsAVX512: Bool { pixelfly_xsmm_target_is_avx512_core() != 0 }

    /// Whether LIBXSMM generates AVX code without AVX2 (`snb`) on this machine.
    public static var libxsmmTargetsAVXOnly: Bool { pixelfly_xsmm_target_is_avx() != 0 }

    /// Whether LIBXSMM generates AVX2 code (`hsw`) on this machine.
    public static var libxsmmTargetsAVX2: Bool { pixelfly_xsmm_target_is_avx2() != 0 }

    /// One line for reports: the kernel a Float layer with no pinned backend runs, by batch.
    public static var automaticSummary: String {
        guard preferred(for: Float.self) == .libxsmm else {
            let reason = libxsmmAvailable(for: Float.self)
                ? "LIBXSMM \(libxsmmTarget) with OpenBLAS \(OpenBLASRuntime.coreName): LIBXSMM runs where both use AVX, AVX2 or AVX-512 alike"
                : "LIBXSMM generates no Float kernels here"
            return "block-sparse kernel: OpenBLAS (one GEMM per row group) at every batch (\(reason))"
        }
        return "block-sparse kernel: LIBXSMM \(libxsmmTarget) from batch \(libxsmmMinimumBatch), OpenBLAS (one GEMM per row group) below"
    }

    /// Narrows LIBXSMM to AVX2 when OpenBLAS runs an AVX2 family (`Haswell`, `Zen`) on a CPU
    /// where LIBXSMM would generate AVX-512 code, unless `LIBXSMM_TARGET` chose a target: then
    /// both libraries run what an AVX2-only CPU runs, and `preferred` picks LIBXSMM there as it
    /// would on such a CPU. Call it before the first layer is made (kernels dispatched earlier
    /// keep their instruction set). Returns whether it changed the target.
    @discardableResult
    public static func matchLIBXSMMToOpenBLAS() -> Bool {
        guard getenv("LIBXSMM_TARGET") == nil, libxsmmTargetsAVX512, OpenBLASRuntime.usesAVX2Kernels,
              !OpenBLASRuntime.usesAVX512Kernels else { return false }
        pixelfly_xsmm_target_avx2()
        return libxsmmTargetsAVX2
    }

    /// Whether LIBXSMM generates kernels for `scalar` on this CPU (checked once per type).
    public static func libxsmmAvailable<S: TensorScalar>(for scalar: S.Type) -> Bool {
        if S.self == Float.self { return floatAvailable }
        if S.self == Double.self { return doubleAvailable }
        return false
    }

    private static let floatAvailable = probe(isDouble: 0)
    private static let doubleAvailable = probe(isDouble: 1)

    private static func probe(isDouble: Int32) -> Bool {
        pixelfly_xsmm_brgemm_offs(isDouble, 8, 8, 8, 8, 8, 8) != nil
            && pixelfly_xsmm_gemm(isDouble, 8, 8, 8, 8, 8, 8, 1, 1) != nil
    }

    /// The instruction set LIBXSMM generates code for on this machine ("hsw" = AVX2,
    /// "skx"/"clx"/"cpx" = AVX-512, …; the `LIBXSMM_TARGET` environment variable overrides it).
    public static var libxsmmTarget: String { XSMMKernelSet.target }
}
