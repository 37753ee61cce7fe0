import CLibXSMM
import PixelflyCore

/// LIBXSMM kernels for the four skinny products of a Pixelfly layer's rank-r term, U (out, r)
/// and V (r, in) row-major, at one batch size and thread count (all column-major views of the
/// row-major matrices, as in `XSMMKernelSet`):
///
///     h  = x·Vᵀ        per batch tile t:  h[t]ᵀ (r × n)  = Vᵀpacked (r × in, ld r) · x[t]ᵀ (in × n, ld in)
///     dh = dy·U        per batch tile t:  dh[t]ᵀ (r × n) = U as stored (r × out, ld r) · dy[t]ᵀ (out × n, ld out)
///     dU += dyᵀ·h      per output chunk o, batch chunk c:  dU[o]ᵀ (r × m) += h[c]ᵀ (r × k) · (dy[c, o]ᵀ)ᵀ
///     dV += dhᵀ·x      per input chunk i, batch chunk c:   dV[:, i]ᵀ (m × r) += x[c, i]ᵀ (m × k) · (dh[c]ᵀ)ᵀ
///
/// h and dh are made inside the block-sparse strip loop, tile by tile, just before the tile's
/// strips use them (`BlockSparseXSMMKernel.FusedLowRank.producer`). The weight gradients are
/// split by output columns (disjoint per thread) and reduce over the batch in a fixed order, so
/// results do not depend on the thread count. OpenBLAS runs the same products through its
/// generic `gemm` otherwise; measured against it in notebooks-md/kernel-families.md
/// (1 thread, 1024 rows, rank 64, AVX-512: each product 1.1–1.5× faster).
final class XSMMLowRankKernels {
    /// Features per weight-gradient call (output rows of dU, input columns of dV).
    static let featureChunk = 128

    let rank: Int
    let inputFeatures: Int
    let outputFeatures: Int
    let batch: Int
    let threads: Int
    let isDouble: Int32
    /// [full tile, last tile] of `XSMMKernelSet`'s tiling; β = 0.
    let hidden: [UnsafeRawPointer?]
    let hiddenGradient: [UnsafeRawPointer?]
    /// [full batch chunk, last batch chunk][full feature chunk, last feature chunk]; β = 1.
    let uGradient: [[UnsafeRawPointer?]]
    let vGradient: [[UnsafeRawPointer?]]

    /// nil if LIBXSMM cannot generate one of the kernels (the layer then uses OpenBLAS for them).
    init?(rank: Int, inputFeatures: Int, outputFeatures: Int, set: XSMMKernelSet) {
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
        hidden = tiles.map { n in dispatch(r, n, input, r, input, r, transB: false, betaOne: false) }
        hiddenGradient = tiles.map { n in dispatch(r, n, output, r, output, r, transB: false, betaOne: false) }
        uGradient = chunks.map { k in
            featureChunks(outputFeatures).map { m in dispatch(r, m, k, r, output, r, transB: true, betaOne: true) }
        }
        vGradient = chunks.map { k in
            featureChunks(inputFeatures).map { m in dispatch(m, r, k, input, r, input, transB: true, betaOne: true) }
        }
        guard ok else { return nil }
        self.rank = rank
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.batch = set.batch
        self.threads = set.threads
        self.isDouble = isDouble
    }

    /// dU += dyᵀ·h: dy (batch, out), h (batch, r), dU (out, r), all row-major.
    func accumulateUGradient<S>(dy: UnsafePointer<S>, h: UnsafePointer<S>, into dU: UnsafeMutablePointer<S>) {
        let (chunk, width) = (min(batch, XSMMKernelSet.weightGradientChunk), min(outputFeatures, Self.featureChunk))
        let count = (outputFeatures + width - 1) / width
        BlockSparseXSMMKernel.forEachRange(count, threads: threads) { parts, _ in
            for part in parts {
                let o = part * width
                let last = o + width <= outputFeatures ? 0 : 1
                for start in stride(from: 0, to: batch, by: chunk) {
                    pixelfly_xsmm_gemm_run(isDouble, uGradient[start + chunk <= batch ? 0 : 1][last]!,
                                           h + start * rank, dy + start * outputFeatures + o, dU + o * rank)
                }
            }
        }
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
