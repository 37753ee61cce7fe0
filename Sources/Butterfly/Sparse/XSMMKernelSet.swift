import CLibXSMM
import CVectorKernels
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// The LIBXSMM kernels one block-sparse layer needs at one batch size and thread count,
/// JIT-compiled (or found in LIBXSMM's registry) on the first call at that size and reused.
///
/// LIBXSMM generates code for the instruction set of the CPU it runs on (AVX2, AVX-512, …;
/// `LIBXSMM_TARGET` overrides it), so the same binary runs the best kernels on every x86 CPU.
/// All kernels are column-major; the row-major x, y, dx and dy are read as their transposes.
///
/// - forward and input gradient (batch-reduce, one per strip height h of the `BlockStripPlan`):
///   m = h, n = tile rows, k = b, β = 0 (every product writes its output; uncovered rows are zeroed).
/// - low-rank term (plain, β = 1, per strip, only with rank r > 0): m = h, n = tile rows, k = r;
///   A is the strip's rows of U (forward) or columns of V (input gradient), packed h × r with
///   lda = h (`BlockSparseXSMMKernel.packLowRankFactor`), B the tile of h = x·Vᵀ or dh (ldb = r).
///   With `foldsBias` the forward's term is k = r + 1: h carries a column of ones and the packed
///   U the bias as its column r, so y += [h 1]·[U b]ᵀ adds the bias on the pass that already
///   reads and writes the strip's output, instead of a k = 1 pass of its own.
/// - weight gradient (plain, m × n = a `BlockGradientPlan` tile, b × rows, k = chunk rows,
///   β = 1): one call per tile and chunk of `weightGradientChunk` batch rows, straight into the
///   panel. A is the tile's block column of x: read in place (lda = in), or, when x's rows are
///   a multiple of 4 KB apart (1024, 3072, 4096 features; 3072 is read in place on a Zen 5 with
///   AVX-512 code, `readsTwelveKilobyteRowsInPlace`) or the L1 data cache is 32 KB or
///   less (`packsInput`, `packsWeightGradientInput(rowBytes:)`), from `inputPack`
///   (lda = b), where each chunk of x is first copied block column by block column
///   (`BlockSparseXSMMKernel.packInputChunk`). At such strides a chunk's 256 rows fall into
///   the same L1 sets and each row into its own page: on an Intel Xeon (Emerald Rapids, `cpx`, 1 thread, batch 1024) the
///   3072 → 768 weight gradient took 2.9× the perf samples per FLOP of the 768 → 3072 one, and
///   a C microbenchmark of the 48 × 48 × 256 kernel ran at 52 GFLOP/s with lda = 3072 and 110 on
///   packed x (copy included). At 768 features (rows 3 KB apart) the copy cost more than it
///   saved there, and saved more than it cost on a Zen 3 (32 KB L1). B is the row range's dy
///   chunk, transposed once per thread and chunk into `transposeScratch` (ldb = chunk rows)
///   and shared by the range's column tiles, instead of dy read in place through LIBXSMM's Bᵀ
///   flag: in perf samples of `layers` at batch 1024 (Zen 5, `cpx`) the weight gradient took
///   17 % (4096 → 1024) and 22 % (768 → 3072) less time, and the same at 1024 → 4096 and
///   3072 → 768, where a range has only 3 column tiles to share the copy.
/// - bias: no kernel (block-sparse layers, and Pixelfly ones whose bias is not folded). Once a
///   strip group's products on a tile are done, out[tile, group columns] += bias over the tile's
///   rows (`pixelfly_add_bias_rows_f32`: contiguous row pieces of several KB). The k = 1 kernel
///   per strip it replaced read the strip's 64 rows back `out` floats apart (a multiple of 4 KB
///   at 3072 and 4096: the same L1 sets), from L2: on the Intel Xeon (`cpx`, 1 thread, batch
///   1024) 432 perf samples in the 768 → 3072 and 1024 → 4096 forwards against 243 for the row
///   pass. Writing the bias first and running the strips with β = 1 was slower (768 → 3072
///   forward 0.213–0.216 → 0.236 × dense).
/// - bias gradient: no kernel; db[rows] += Σ_chunk dy[chunk, rows] is a column sum of the
///   transposed dy block (`pixelfly_column_sums_f32`), right after the weight-gradient call of a
///   tile that `sumsBias`. The n = 1 kernel it replaced read dy in place, rows `out` apart (a
///   multiple of 4 KB at 3072 and 4096): 1.8 % of a 768 → 3072 block-sparse forward+backward's
///   perf samples, the column sums 0.04 %.
final class XSMMKernelSet {
    /// Most batch rows per weight-gradient call.
    static let maximumWeightGradientChunk = 256

    /// Batch rows per weight-gradient call for blocks whose rows take `blockBytes` (b × scalar
    /// size): 256, or 128 where the kernel's A operand for 256 rows, a block column of x's copy
    /// (b × 256), would not fit the L1 data cache the system reports. LIBXSMM's AVX2 kernel
    /// sweeps A for every 3 output columns, from L2 when it does not fit.
    ///
    /// On an AMD EPYC Zen 3 (32 KB L1; b = 48, Float: A is 48 KB at 256 rows, 24 KB at 128) the
    /// 768 ↔ 3072 `layers` rows were faster with 128 in 14 of 16 alternated pairs, the two weight
    /// gradients of the Mixer step took 7 % fewer perf samples, and the step was faster in 5 of
    /// 7 interleaved runs; at b = 32 (A 32 KB at 256 rows) 256 stayed faster, in 13 of 16 pairs
    /// (notebooks-md/kernel-passes/18-strips-in-48-row-blocks.md). On an AMD EPYC Zen 4 (32 KB
    /// L1, LIBXSMM's AVX-512 code) 256 rows at b = 48 were level: faster in 41 of 80 alternated
    /// 768 ↔ 3072 pairs, median −0.1 % (notebooks-md/kernel-passes/40-zen4-fifth-cpu.md). On
    /// CPUs with a 48 KB L1 it changes Float only from b = 64 up and Double from b = 32 up, which
    /// no measurement covers.
    static func weightGradientChunk(blockBytes: Int) -> Int {
        let l1 = l1DataCacheBytes
        return l1 > 0 && blockBytes * maximumWeightGradientChunk > l1 ? maximumWeightGradientChunk / 2 : maximumWeightGradientChunk
    }

    /// The L1 data cache per core as the system reports it; 0 or less when it reports none.
    static let l1DataCacheBytes = sysconf(Int32(_SC_LEVEL1_DCACHE_SIZE))
    /// Largest batch tile of the forward and input-gradient kernels.
    static let maximumTile = 64
    /// Whether the weight gradient reads x from a block-column copy (`inputPack`) for rows of x
    /// `rowBytes` apart: when they are a multiple of 4 KB apart, or on a CPU whose L1 data cache
    /// is 32 KB or smaller (reported by the system; a CPU that reports none copies at 4 KB
    /// multiples only).
    ///
    /// At 4 KB multiples a chunk's 256 rows fall into the same L1 sets (every CPU measured).
    /// At 768 features (rows 3 KB apart) they fall into 12 of the 64 sets: on the Intel Xeon and
    /// Zen 5 (48 KB, 12-way L1) the copy cost more than it saved; on an AMD EPYC Zen 3 (32 KB,
    /// 8-way) the copy won in 21 of 24 alternated `layers` rows (768 → 3072, batch 1024 and
    /// 4096, 1 and 2 threads, block-sparse and Pixelfly r32; forward + backward e.g. 0.286 →
    /// 0.218× dense) and the Mixer training step in 3 of 3 alternated runs (178.9 / 167.2 /
    /// 174.6 → 156.8 / 163.0 / 167.6 ms), and at 512 → 2048 (rows 2 KB apart) in 12 of 12 rows
    /// (notebooks-md/kernel-passes/16-zen3-avx2-rules.md). On an AMD EPYC Zen 4 (32 KB, 8-way,
    /// LIBXSMM's AVX-512 code) reading x in place at 768 and 3072 features was level in
    /// `layers` (44 of 80 pairs faster) and slower in the default job's Pixelfly Mixer step
    /// (4 of 5 alternated trainings, median 90.4 → 97.5 ms); with AVX2 code 18–36 % slower at
    /// 3072 → 768 on 1 thread (notebooks-md/kernel-passes/40-zen4-fifth-cpu.md). One
    /// exception: `readsTwelveKilobyteRowsInPlace`.
    static func packsWeightGradientInput(rowBytes: Int) -> Bool {
        packsWeightGradientInput(rowBytes: rowBytes, everyStride: packsWeightGradientInputAtEveryStride,
                                 twelveKilobyteRowsInPlace: readsTwelveKilobyteRowsInPlace)
    }

    /// The rule of `packsWeightGradientInput(rowBytes:)` on explicit facts about the CPU.
    static func packsWeightGradientInput(rowBytes: Int, everyStride: Bool, twelveKilobyteRowsInPlace: Bool) -> Bool {
        if everyStride { return true }
        if twelveKilobyteRowsInPlace && rowBytes == 12 << 10 { return false }
        return rowBytes % 4096 == 0
    }

    /// Whether x's rows 12 KB apart (3072 Float features: the input of a Mixer's or ViT's second
    /// MLP layer) are read in place, although a multiple of 4 KB apart: on an AMD Zen 5 (48 KB
    /// L1, 1 MB L2) where LIBXSMM generates AVX-512 code. There, at 3072 → 768, reading in place
    /// was faster in 35 of 48 alternated `layers` pairs (batch 1024 and 4096, 1 and 2 threads,
    /// block-sparse and Pixelfly r64; the row medians −10.4 to +0.5 %, most at 2 threads, where
    /// the copy's rows are split between the cores) and the default job's Pixelfly Mixer step in
    /// 9 of 9 alternated trainings (−0.6 to −10.9 %). At 4096 features (16 KB) it was mixed
    /// (Pixelfly +3.8 % at batch 4096), at 1024 (4 KB) the copy won every row by 2.5–6.1 %
    /// (notebooks-md/kernel-passes/30-zen5-avx512-current-code.md), and with LIBXSMM's AVX2 code
    /// on the same CPU in place was 12–25 % slower in 24 of 24 pairs; the Intel Xeon measured
    /// in place at 3072 features at half the copy's rate (above), and on an AMD Zen 4 (32 KB L1,
    /// AVX-512 code) the Mixer step was faster with the copy (above). So only this case
    /// (notebooks-md/kernel-passes/39-families-on-todays-code.md).
    static var readsTwelveKilobyteRowsInPlace: Bool { isZen5 && BlockSparseBackend.libxsmmTargetsAVX512 }

    /// Whether /proc/cpuinfo names an AMD Zen 5 (family 0x1A).
    static let isZen5 = CPUFeatures.current().signature?.microarchitecture == "Zen 5"

    /// Whether this CPU's L1 data cache, as the system reports it, is 32 KB or smaller (then the
    /// weight gradient copies x whatever its row stride).
    static let packsWeightGradientInputAtEveryStride = l1DataCacheBytes > 0 && l1DataCacheBytes <= 32 << 10

    /// Rows per block of the backward of a layer whose output is wider than its input.
    static let expandingLayerBackwardBlock = 512

    /// Batch rows per block of the backward: the layer runs its input gradient, then its weight
    /// gradient, on each block of rows in turn (`BlockSparseLinear.xsmmBackward`), so that the
    /// weight gradient's transposes of dy find the block's dy in L3 after the input gradient read
    /// it. `block` rows when the output is wider than the input (dy is then the larger stream:
    /// 6–8 MB per 512 rows at 3072–4096 outputs), the batch is larger, and `block` is a whole
    /// number of tiles and weight-gradient chunks; the whole batch otherwise. For a contracting
    /// layer x and dx carry more of the traffic, and more, shorter input-gradient passes re-read
    /// its packed weights more often. Measured on an AMD EPYC Zen 5 (`Cooperlake`, `layers`,
    /// one binary, the block size from a throwaway variable, three alternated rounds, three
    /// times): at 768 → 3072 and batch 4096, 512-row blocks took f+b ÷ dense down in 12 of 12
    /// rows, by 3.8–8.5 % (Pixelfly r64 0.310 → 0.297, 0.309 → 0.295); 1024 → 4096 level
    /// (−1.0 to +1.5 % in the last run); batch 1024 level; contracting layers up to 3.5 % slower;
    /// 1024-row blocks gained less (notebooks-md/kernel-passes/32-input-gradient-first.md).
    static func backwardBlockRows(batch: Int, tile: Int, chunk: Int, outputFeatures: Int, inputFeatures: Int,
                                  block: Int = expandingLayerBackwardBlock) -> Int {
        guard outputFeatures > inputFeatures, batch > block, block % tile == 0, block % chunk == 0 else { return batch }
        return block
    }

    /// Packed weight bytes per strip group (`BlockStripPlan.stripGroups`): a quarter of a
    /// core's L2 (512 KB on the Intel Xeon's 2 MB, 256 KB on Zen 5's 1 MB), which leaves the
    /// rest of L2 for the tiles of x and y the group's strips read and write; 256 KB when the
    /// system does not report its L2.
    static let stripGroupBytes: Int = {
        let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        return l2 > 0 ? l2 / 4 : 256 << 10
    }()

    let batch: Int
    let threads: Int
    /// Batch rows per weight-gradient call (`weightGradientChunk(blockBytes:)`, at most the batch).
    let weightGradientChunk: Int
    /// Rows per tile; the last tile has `batch % tile` rows when that is not 0.
    let tile: Int
    let isDouble: Int32
    /// [height index][full tile, last tile]; β = 0.
    let forward: [[UnsafeRawPointer?]]
    let inputGradient: [[UnsafeRawPointer?]]
    /// Per height index of the forward and input-gradient plans: whether those strips, and their
    /// low-rank term, run the hand-written `pixelfly_strip24_f32` instead of LIBXSMM
    /// (`BlockSparseBackend.handWrittenStrip24`: 24-row Float strips under AVX2).
    let forwardHandWritten: [Bool]
    let inputGradientHandWritten: [Bool]
    /// Strip groups of the forward and input-gradient plans (`BlockStripPlan.stripGroups`).
    let forwardGroups: [Range<Int>]
    let inputGradientGroups: [Range<Int>]
    /// Rank of the fused low-rank term (0: none), and its kernels [height index][full, last tile].
    let rank: Int
    /// Whether the forward's low-rank kernels carry the bias as an extra rank (k = r + 1).
    let foldsBias: Bool
    /// Columns of the forward's activations h: r, or r + 1 with the bias folded in.
    var hiddenWidth: Int { rank + (foldsBias ? 1 : 0) }
    let lowRankForward: [[UnsafeRawPointer?]]
    let lowRankInputGradient: [[UnsafeRawPointer?]]
    /// [full chunk, last chunk][shape index of the `BlockGradientPlan`].
    let weightGradient: [[UnsafeRawPointer?]]
    /// Whether the products with one block column of x's copy as A (m = b: the weight gradient's
    /// tiles, and a Pixelfly term's dV on `inputPack`) run as 24-row slices on
    /// `pixelfly_strip24_f32` instead of LIBXSMM: with hand-written strips, for Float at b = 48
    /// (m = 48 is 32 + 16 rows in LIBXSMM's AVX2 code, the 16 with 6 accumulators; two 24-row
    /// slices keep 12 each). b = 32 and 64 stay on LIBXSMM (12 accumulators already).
    let blockColumnsHandWritten: Bool
    /// Ones of the layer's scalar type, as many as any bias product's batch rows (a
    /// weight-gradient chunk, a forward chunk): the 1 vectors of the bias products on rows no
    /// strip covers (the bias and its gradient there).
    let ones: UnsafeMutableRawPointer
    /// One (largest tile rows × chunk) scratch per thread for the transposed dy chunk;
    /// `transposeScratchCount` elements each.
    let transposeScratch: UnsafeMutableRawPointer
    let transposeScratchCount: Int
    /// Whether the weight gradient reads x from `inputPack` (`packsWeightGradientInput(rowBytes:)`).
    let packsInput: Bool
    /// Batch rows per block of the backward (`backwardBlockRows(batch:tile:chunk:outputFeatures:inputFeatures:block:)`).
    let backwardBlockRows: Int
    /// One chunk of x (chunk × in elements), block column by block column: block column c's
    /// chunk rows × b elements start at c × chunk rows × b (row-major within; the last, shorter
    /// chunk uses its own row count). Shared by the threads; one element when `packsInput` is false.
    let inputPack: UnsafeMutableRawPointer
    /// One chunk of a Pixelfly layer's activations h (chunk rows × r, contiguous, on a cache
    /// line), copied for dU's kernels (`XSMMLowRankKernels.uGradient`, lda = r): in place, h's
    /// rows are r + 1 apart with the folded bias and start wherever the array does, and LIBXSMM's
    /// AVX2 kernel, which loads them as whole vectors, ran at 51–60 GFLOP/s there against 70–84
    /// on the copy (AMD EPYC Zen 3, m = n = 64, k = 256;
    /// notebooks-md/kernel-passes/18-strips-in-48-row-blocks.md). One element when `rank` is 0.
    let activationPack: UnsafeMutableRawPointer
    /// The strip loop's and the weight gradient's split over the threads (`TailStealing`).
    let stealing: TailStealing
    /// The Pixelfly low-rank products on LIBXSMM (set by the layer when `rank` > 0; nil: OpenBLAS).
    var lowRankProducts: XSMMLowRankKernels?

    /// Dispatches every kernel; nil if LIBXSMM cannot generate one of them (no JIT for this CPU
    /// or scalar type), in which case the caller uses the OpenBLAS kernel.
    init?<S: TensorScalar>(forward forwardPlan: BlockStripPlan, inputGradient gradientPlan: BlockStripPlan,
                           weightGradient weightPlan: BlockGradientPlan, batch: Int, threads: Int, rank: Int, foldsBias: Bool,
                           stripGroupBytes: Int, packsInput: Bool, handWrittenStrips: Bool, backwardBlock: Int,
                           scalar: S.Type) {
        guard S.self == Float.self || S.self == Double.self, batch > 0 else { return nil }
        let isDouble: Int32 = S.self == Double.self ? 1 : 0
        let b = Int32(forwardPlan.blockSize)
        // Enough tiles for every thread, in multiples of 8 rows, at most `maximumTile`.
        let perThread = (batch + threads - 1) / threads
        let tile = min(Self.maximumTile, max(8, (perThread + 7) / 8 * 8))
        let tileRows = [tile, batch % tile].map(Int32.init)
        let chunk = min(batch, Self.weightGradientChunk(blockBytes: Int(b) * MemoryLayout<S>.stride))
        let chunkRows = [chunk, batch % chunk].map(Int32.init)
        var ok = true
        func stripKernels(_ plan: BlockStripPlan) -> [[UnsafeRawPointer?]] {
            plan.heights.map { h in
                tileRows.map { n in
                    if n == 0 { return nil }
                    let kernel = pixelfly_xsmm_brgemm_offs(isDouble, Int32(h), n, b, Int32(h), Int32(plan.cols), Int32(plan.rows))
                    ok = ok && kernel != nil
                    return kernel
                }
            }
        }
        func lowRankKernels(_ plan: BlockStripPlan, depth: Int) -> [[UnsafeRawPointer?]] {
            plan.heights.map { h in
                tileRows.map { n in
                    if n == 0 || rank == 0 { return nil }
                    let kernel = pixelfly_xsmm_gemm(isDouble, Int32(h), n, Int32(depth), Int32(h),
                                                    Int32(depth), Int32(plan.rows), 0, 1)
                    ok = ok && kernel != nil
                    return kernel
                }
            }
        }
        let handWrittenRows = BlockSparseBackend.handWrittenStripHeight
        let handWrittenKernel = handWrittenStrips && S.self == Float.self && pixelfly_vector_kernels_use_avx2() != 0
        func handWritten(_ plan: BlockStripPlan) -> [Bool] {
            plan.heights.map { handWrittenKernel && $0 == handWrittenRows }
        }
        blockColumnsHandWritten = handWrittenKernel && Int(b) % handWrittenRows == 0 && Int(b) % 32 != 0
        let forward = stripKernels(forwardPlan)
        let lowRankForward = lowRankKernels(forwardPlan, depth: rank + (foldsBias ? 1 : 0))
        let lowRankInputGradient = lowRankKernels(gradientPlan, depth: rank)
        let inputGradient = stripKernels(gradientPlan)
        let weightGradient: [[UnsafeRawPointer?]] = chunkRows.map { k in
            weightPlan.shapes.map { shape in
                if k == 0 { return nil }
                let kernel = pixelfly_xsmm_gemm(isDouble, Int32(shape.columns), Int32(shape.rows), k,
                                                Int32(packsInput ? shape.columns : gradientPlan.rows), k, Int32(shape.stride), 0, 1)
                ok = ok && kernel != nil
                return kernel
            }
        }
        guard ok else { return nil }
        let onesCount = max(chunk, BlockSparseKernel.chunkRows)
        ones = UnsafeMutableRawPointer.allocate(byteCount: onesCount * MemoryLayout<S>.stride, alignment: 64)
        ones.initializeMemory(as: S.self, repeating: 1, count: onesCount)
        transposeScratchCount = (weightPlan.shapes.map(\.rows).max() ?? 0) * chunk
        transposeScratch = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, threads * transposeScratchCount) * MemoryLayout<S>.stride, alignment: 64)
        stealing = TailStealing(maximumParts: threads)
        self.packsInput = packsInput
        backwardBlockRows = Self.backwardBlockRows(batch: batch, tile: tile, chunk: chunk, outputFeatures: gradientPlan.cols,
                                                   inputFeatures: gradientPlan.rows, block: backwardBlock)
        inputPack = UnsafeMutableRawPointer.allocate(
            byteCount: (packsInput ? chunk * gradientPlan.rows : 1) * MemoryLayout<S>.stride, alignment: 64)
        activationPack = UnsafeMutableRawPointer.allocate(byteCount: max(1, chunk * rank) * MemoryLayout<S>.stride, alignment: 64)
        self.batch = batch
        self.threads = threads
        weightGradientChunk = chunk
        self.tile = tile
        self.isDouble = isDouble
        self.forward = forward
        self.inputGradient = inputGradient
        forwardHandWritten = handWritten(forwardPlan)
        inputGradientHandWritten = handWritten(gradientPlan)
        self.weightGradient = weightGradient
        self.rank = rank
        self.foldsBias = foldsBias && rank > 0
        self.lowRankForward = lowRankForward
        self.lowRankInputGradient = lowRankInputGradient
        let size = MemoryLayout<S>.stride
        forwardGroups = forwardPlan.stripGroups(maximumBytes: stripGroupBytes,
                                                lowRankColumns: rank == 0 ? 0 : rank + (foldsBias ? 1 : 0), scalarSize: size)
        inputGradientGroups = gradientPlan.stripGroups(maximumBytes: stripGroupBytes, lowRankColumns: rank, scalarSize: size)
    }

    deinit {
        ones.deallocate()
        transposeScratch.deallocate()
        inputPack.deallocate()
        activationPack.deallocate()
    }

    /// Tiles of `tile` rows covering the batch (the last may be shorter).
    var tileCount: Int { (batch + tile - 1) / tile }

    /// The instruction set LIBXSMM generates code for on this machine ("hsw", "skx", …).
    static var target: String { String(cString: pixelfly_xsmm_target()) }
}
