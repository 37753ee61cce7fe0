import CLibXSMM
import PixelflyCore

/// LIBXSMM kernels for the four skinny products of a Pixelfly layer's rank-r term, U (out, r)
/// and V (r, in) row-major, at one batch size and thread count (all column-major views of the
/// row-major matrices, as in `XSMMKernelSet`):
///
///     h  = x·Vᵀ        per batch tile t:  h[t]ᵀ (r × n)  = Vᵀpacked (r × in, ld r) · x[t]ᵀ (in × n, ld in)
///                      (ld of h: r, or r + 1 when h carries the folded bias's ones column)
///     dh = dy·U        per batch tile t:  dh[t]ᵀ (r × n) = U as stored (r × out, ld r) · dy[t]ᵀ (out × n, ld out)
///     dU += dyᵀ·h      per weight-gradient row range R, batch chunk c:  dU[R]ᵀ (r × |R|) += h[c]ᵀ (r × k) · dy[c, R] (k × |R|, transposed)
///     dV += dhᵀ·x      per input chunk i, batch chunk c:   dV[:, i]ᵀ (m × r) += x[c, i]ᵀ (m × k) · (dh[c]ᵀ)ᵀ
///
/// h and dh are made inside the block-sparse strip loop, tile by tile, just before the tile's
/// strips use them (`BlockSparseXSMMKernel.FusedLowRank.producer`). dU rides on the block-sparse
/// weight gradient (`BlockSparseXSMMKernel.LowRankWeightGradient`): the tile that starts a row
/// range (`BlockGradientPlan.sumsBias`) has that range's dy chunk transposed, contiguous, in its
/// thread's scratch, so dy is read once for dW, db and dU, and never through LIBXSMM's Bᵀ flag
/// with rows `out` apart (at 3072 or 4096 a multiple of 4 KB). dV is split by input columns
/// (disjoint per thread). Both reduce over the batch in a fixed order, so results do not depend
/// on the thread count. OpenBLAS runs the same products through its generic `gemm` otherwise;
/// measured against it in notebooks-md/kernel-families.md (1 thread, 1024 rows, rank 64,
/// AVX-512: each product 1.1–1.5× faster).
final class XSMMLowRankKernels {
    /// Input columns of dV per call.
    static let featureChunk = 128

    let rank: Int
    let inputFeatures: Int
    let batch: Int
    let threads: Int
    let isDouble: Int32
    /// [full tile, last tile] of `XSMMKernelSet`'s tiling; β = 0.
    let hidden: [UnsafeRawPointer?]
    let hiddenGradient: [UnsafeRawPointer?]
    /// [full batch chunk, last batch chunk][shape index of the `BlockGradientPlan`]; β = 1.
    let uGradient: [[UnsafeRawPointer?]]
    /// [full batch chunk, last batch chunk][full feature chunk, last feature chunk]; β = 1.
    let vGradient: [[UnsafeRawPointer?]]

    /// nil if LIBXSMM cannot generate one of the kernels (the layer then uses OpenBLAS for them).
    init?(rank: Int, inputFeatures: Int, outputFeatures: Int, weightGradient plan: BlockGradientPlan, set: XSMMKernelSet) {
        guard rank > 0 else { return nil }
        let (r, input, output) = (Int32(rank), Int32(inputFeatures), Int32(outputFeatures))
        let isDouble = set.isDouble
        let tiles = [set.tile, set.batch % set.tile].map(Int32.init)
        let chunk = min(set.batch, XSMMKernelSet.weightGradientChunk)
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
        hidden = tiles.map { n in dispatch(r, n, input, r, input, hiddenWidth, transB: false, betaOne: false) }
        hiddenGradient = tiles.map { n in dispatch(r, n, output, r, output, r, transB: false, betaOne: false) }
        uGradient = chunks.map { k in
            plan.shapes.map { shape in dispatch(r, Int32(shape.rows), k, hiddenWidth, k, r, transB: false, betaOne: true) }
        }
        vGradient = chunks.map { k in
            featureChunks(inputFeatures).map { m in dispatch(m, r, k, input, r, input, transB: true, betaOne: true) }
        }
        guard ok else { return nil }
        self.rank = rank
        self.inputFeatures = inputFeatures
        self.batch = set.batch
        self.threads = set.threads
        self.isDouble = isDouble
    }

    /// dV += dhᵀ·x: dh (batch, r), x (batch, in), dV (r, in), all row-major.
    func accumulateVGradient<S>(dh: UnsafePointer<S>, x: UnsafePointer<S>, into dV: UnsafeMutablePointer<S>) {
        let (chunk, width) = (min(batch, XSMMKernelSet.weightGradientChunk), min(inputFeatures, Self.featureChunk))
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
