import CLibXSMM
import PixelflyCore

/// LIBXSMM kernels for the four skinny products of a Pixelfly layer's rank-r term, U (out, r)
/// and V (r, in) row-major, at one batch size and thread count (all column-major views of the
/// row-major matrices, as in `XSMMKernelSet`):
///
///     h  = x·Vᵀ        per batch tile t:  h[t]ᵀ (r × n)  = Vᵀpacked (r × in, ld r) · x[t]ᵀ (in × n, ld in)
///                      (ld of h: r, or r + 1 when h carries the folded bias's ones column)
///     dh = dy·U        per batch tile t:  dh[t]ᵀ (r × n) = U as stored (r × out, ld r) · dy[t]ᵀ (out × n, ld out)
///     dU += dyᵀ·h      per weight-gradient row range R, batch chunk c:  dU[R]ᵀ (r × |R|) += h[c]ᵀ (r × k, ld r: the chunk's
///                      copy in `XSMMKernelSet.activationPack`) · dy[c, R] (k × |R|, transposed),
///                      in depth slices (`UGradientKernels`)
///     dV += dhᵀ·x      per input chunk i, batch chunk c:   dV[:, i]ᵀ (m × r) += x[c, i]ᵀ (m × k) · (dh[c]ᵀ)ᵀ
///                      (or per block column i of x's chunk copy, m = b, lda = b, on dh[c] transposed
///                      into `XSMMKernelSet.activationPack`: `packedVGradient`)
///
/// h and dh are made inside the block-sparse strip loop, tile by tile, just before the tile's
/// strips use them (`BlockSparseXSMMKernel.FusedLowRank.producer`). dU rides on the block-sparse
/// weight gradient (`BlockSparseXSMMKernel.LowRankWeightGradient`): the tile that starts a row
/// range (`BlockGradientPlan.sumsBias`) has that range's dy chunk transposed, contiguous, in its
/// thread's scratch, so dy is read once for dW, db and dU, and never through LIBXSMM's Bᵀ flag
/// with rows `out` apart (at 3072 or 4096 a multiple of 4 KB). dV is split by input columns
/// (disjoint per thread); when the weight gradient copies x (`XSMMKernelSet.packsInput`, rows a
/// multiple of 4 KB apart), dV runs on that copy inside its chunk loop instead, once dh is
/// known (`BlockSparseXSMMKernel.PackedVGradient`). Both reduce over the batch in a fixed order, so results do not depend
/// on the thread count. OpenBLAS runs the same products through its generic `gemm` otherwise;
/// measured against it in notebooks-md/kernel-passes/02-low-rank-on-libxsmm.md (1 thread, 1024
/// rows, rank 64, AVX-512: each product 1.1–1.5× faster).
final class XSMMLowRankKernels {
    /// Input columns of dV per call.
    static let featureChunk = 128

    let rank: Int
    let inputFeatures: Int
    let batch: Int
    let threads: Int
    /// Batch rows per dV call (`XSMMKernelSet.weightGradientChunk`).
    let weightGradientChunk: Int
    let isDouble: Int32
    /// h = x·Vᵀ and dh = dy·U per batch tile, in depth chunks (`ProducerKernels`).
    let hidden: ProducerKernels
    let hiddenGradient: ProducerKernels
    /// [full batch chunk, last batch chunk][shape index of the `BlockGradientPlan`].
    let uGradient: [[UGradientKernels]]
    /// [full batch chunk, last batch chunk][full feature chunk, last feature chunk]; β = 1.
    let vGradient: [[UnsafeRawPointer?]]
    /// [full batch chunk, last batch chunk]: dV[:, block column]ᵀ (b × r, ldc = in) += the
    /// block column's copy (b × k, lda = b) · dh[chunk] transposed (k × r, ldb = k: in
    /// `XSMMKernelSet.activationPack`); β = 1. Empty unless the kernel set `packsInput`.
    let packedVGradient: [UnsafeRawPointer?]

    /// nil if LIBXSMM cannot generate one of the kernels (the layer then uses OpenBLAS for them).
    init?(rank: Int, inputFeatures: Int, outputFeatures: Int, weightGradient plan: BlockGradientPlan, set: XSMMKernelSet) {
        guard rank > 0 else { return nil }
        let (r, input) = (Int32(rank), Int32(inputFeatures))
        let isDouble = set.isDouble
        let tiles = [set.tile, set.batch % set.tile].map(Int32.init)
        let chunk = set.weightGradientChunk
        let chunks = [chunk, set.batch % chunk].map(Int32.init)
        var ok = true
        func dispatch(_ m: Int32, _ n: Int32, _ k: Int32, _ lda: Int32, _ ldb: Int32, _ ldc: Int32,
                      transB: Bool, betaOne: Bool) -> UnsafeRawPointer? {
            if m == 0 || n == 0 || k == 0 { return nil }
            let kernel = pixelfly_xsmm_gemm(isDouble, m, n, k, lda, ldb, ldc, transB ? 1 : 0, betaOne ? 1 : 0)
            ok = ok && kernel != nil
            return kernel
        }
        func featureChunks(_ features: Int) -> [Int32] {
            [min(features, Self.featureChunk), features % min(features, Self.featureChunk)].map(Int32.init)
        }
        // h has r + 1 columns (the last all ones) when the forward folds the bias into the term.
        let hiddenWidth = Int32(set.hiddenWidth)
        func producer(depth: Int, ldc: Int32) -> ProducerKernels {
            let starts = ProducerKernels.chunkStarts(depth: depth)
            let kernels = tiles.map { n in
                starts.indices.map { c in
                    let end = c + 1 < starts.count ? starts[c + 1] : depth
                    return dispatch(r, n, Int32(end - starts[c]), r, Int32(depth), ldc, transB: false, betaOne: c > 0)
                }
            }
            return ProducerKernels(starts: starts, kernels: kernels)
        }
        hidden = producer(depth: inputFeatures, ldc: hiddenWidth)
        hiddenGradient = producer(depth: outputFeatures, ldc: r)
        let sliceDepth = UGradientKernels.maximumDepth(rank: rank, scalarBytes: isDouble == 1 ? 8 : 4)
        uGradient = chunks.map { k in
            let starts = ProducerKernels.chunkStarts(depth: Int(k), maximumDepth: sliceDepth)
            return plan.shapes.map { shape in
                UGradientKernels(starts: starts, kernels: starts.indices.map { s in
                    let end = s + 1 < starts.count ? starts[s + 1] : Int(k)
                    return dispatch(r, Int32(shape.rows), Int32(end - starts[s]), r, k, r, transB: false, betaOne: true)
                })
            }
        }
        vGradient = chunks.map { k in
            featureChunks(inputFeatures).map { m in dispatch(m, r, k, input, r, input, transB: true, betaOne: true) }
        }
        packedVGradient = set.packsInput
            ? chunks.map { k in dispatch(Int32(plan.blockSize), r, k, Int32(plan.blockSize), k, input, transB: false, betaOne: true) }
            : []
        guard ok else { return nil }
        self.rank = rank
        self.inputFeatures = inputFeatures
        self.batch = set.batch
        self.weightGradientChunk = set.weightGradientChunk
        self.threads = set.threads
        self.isDouble = isDouble
    }

    /// dV += dhᵀ·x: dh (batch, r), x (batch, in), dV (r, in), all row-major.
    func accumulateVGradient<S>(dh: UnsafePointer<S>, x: UnsafePointer<S>, into dV: UnsafeMutablePointer<S>) {
        let (chunk, width) = (weightGradientChunk, min(inputFeatures, Self.featureChunk))
        let count = (inputFeatures + width - 1) / width
        BlockSparseXSMMKernel.forEachRange(count, threads: threads) { parts, _ in
            for part in parts {
                let i = part * width
                let last = i + width <= inputFeatures ? 0 : 1
                for start in stride(from: 0, to: batch, by: chunk) {
                    pixelfly_xsmm_gemm_run(isDouble, vGradient[start + chunk <= batch ? 0 : 1][last]!,
                                           x + start * inputFeatures + i, dh + start * rank, dV + i)
                }
            }
        }
    }
}

/// The kernels of a producer activations[tile]ᵀ (r × n) = factor (r × K, column-major, ld r) ·
/// input[tile]ᵀ (K × n, ld K): one call per chunk of at most `maximumDepth` along K, the first
/// writing (β = 0), the others adding (β = 1). A 64 × 1024 chunk of the factor (256 KB) stays in
/// L2 while the kernel sweeps the tile's columns, six at a time; the whole factor (64 × 3072 or
/// 64 × 4096, up to 1 MB) came from L3 again for every six columns. Measured on Zen 5 (`cpx`),
/// batch 4096, 1 thread: h = x·Vᵀ at 3072 → 768 took 13 % fewer perf samples, and Pixelfly
/// forward+backward 0.29–0.31 → 0.28–0.30 × dense at 1024 ↔ 4096 and 3072 → 768
/// (notebooks-md/kernel-passes/05-bias-gradient-and-producers.md).
struct ProducerKernels {
    static let maximumDepth = 1024

    /// First K index of each chunk (chunk c ends where c + 1 starts, the last at K).
    let starts: [Int]
    /// [full tile, last tile][chunk].
    let kernels: [[UnsafeRawPointer?]]

    /// ⌈K / maximumDepth⌉ chunks of equal length, the last shorter when they do not divide K.
    static func chunkStarts(depth: Int, maximumDepth: Int = maximumDepth) -> [Int] {
        let count = max(1, (depth + maximumDepth - 1) / maximumDepth)
        let length = max(1, (depth + count - 1) / count)
        return Array(stride(from: 0, to: max(depth, 1), by: length))
    }
}

/// The kernels of dU[R]ᵀ (r × |R|) += h[c]ᵀ (r × k, ld r) · dy[c, R] (k × |R|, ld k) for one batch
/// chunk of k rows and one tile shape: one call per slice of the chunk's depth (β = 1 for all),
/// slice s from row `starts[s]` to the next start (the last to k). A slice of hᵀ is at most
/// `sliceBytes`, half of a 32 KB L1, so that it stays there with the slice of dy while the kernel
/// sweeps it for every few columns of dU; the whole chunk (64 × 256 Floats, 64 KB, at b = 32)
/// came from L2 for each. Measured on an AMD EPYC Zen 2 (`hsw`, r = 64, 1 thread): in a C
/// microbenchmark of 64-row tiles and 256-row chunks (b = 32) 76–92 GFLOP/s unsliced, 92–99 in
/// 64-row slices, faster in 12 of 12 rounds; in the layer (perf, batch 4096) dU's samples fell by
/// 18–21 % at 1024 → 4096, to the block-sparse strips' samples per FLOP, and by 6–12 % at
/// 768 → 3072 (b = 48, 128-row chunks) (notebooks-md/kernel-passes/26-backward-by-phase.md).
struct UGradientKernels {
    static let sliceBytes = 16 * 1024

    /// First batch row of each slice.
    let starts: [Int]
    let kernels: [UnsafeRawPointer?]

    /// Rows per slice: as many as keep r × rows elements within `sliceBytes`, at least 8.
    static func maximumDepth(rank: Int, scalarBytes: Int) -> Int {
        max(8, sliceBytes / max(1, rank * scalarBytes))
    }

    /// dU[R]ᵀ += h[c]ᵀ · dy[c, R]: `activations` is hᵀ's chunk (r × k, ld r), `transposed` the
    /// row range's dy chunk (k × |R|, ld k), `gradient` dU[R]ᵀ (ld r).
    func accumulate<S>(isDouble: Int32, rank: Int, activations: UnsafePointer<S>, transposed: UnsafePointer<S>,
                       into gradient: UnsafeMutablePointer<S>) {
        for s in starts.indices {
            pixelfly_xsmm_gemm_run(isDouble, kernels[s]!, activations + starts[s] * rank, transposed + starts[s], gradient)
        }
    }
}
