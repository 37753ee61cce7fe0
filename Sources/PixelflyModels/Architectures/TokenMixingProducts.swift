import CLibXSMM
import PixelflyCore

/// The four token-mixing products of one sequence that produce a T×C or H×C block
/// (`DenseTokenMixing`), as LIBXSMM kernels generated once per layer shape where it can, as BLAS
/// calls where it cannot:
///
///     H_b  += W₁·X_b      (H×C)        Y_b  += W₂·A_b     (T×C)
///     dA_b  = W₂ᵀ·dY_b    (H×C)        dX_b  = W₁ᵀ·dH_b   (T×C)
///
/// Row-major blocks are column-major with rows and columns swapped, so each is one
/// column-major product with m = C (the channels, contiguous): H_bᵀ = X_bᵀ·W₁ᵀ is
/// m × n × k = C × H × T with A = X_b (lda C) and B = W₁ (ldb T); the two gradients read W₂ and W₁
/// through LIBXSMM's transposed-B flag. The weight gradients dW₁ += dH_b·X_bᵀ and
/// dW₂ += dY_b·A_bᵀ reduce over C, which LIBXSMM 1.17 would need a transposed A for (a transposed
/// copy of X_b or dY_b per sequence made them no faster than OpenBLAS); they run on
/// `BlockKernels.addInnerProducts`.
///
/// Why: OpenBLAS packs both operands on every call, and at inner dimensions of T = 16 and H = 32
/// over C = 768 columns that packing is a large part of the work. The four products on LIBXSMM
/// (no packing) took 5.26–5.28 ms against 6.83–7.00 ms on OpenBLAS for 64 sequences of the
/// default job's Mixer layer (T 16, C 768, H 32), one thread, weight gradients on OpenBLAS in
/// both (AMD EPYC Zen 2, OpenBLAS `Zen`, LIBXSMM `hsw`;
/// notebooks-md/kernel-passes/25-token-mixing-on-libxsmm.md).
struct TokenMixingProducts<S: TensorScalar> {
    private let shape: TokenMixingShape
    /// LIBXSMM's kernels, or nil: every product on BLAS.
    private let kernels: (isDouble: Int32, hidden: UnsafeRawPointer, output: UnsafeRawPointer,
                          hiddenGradient: UnsafeRawPointer, inputGradient: UnsafeRawPointer)?

    /// On LIBXSMM when `usesLIBXSMM` and it generates all four kernels (Float and Double on a CPU
    /// it has code for); on BLAS otherwise (tests compare the two).
    init(_ shape: TokenMixingShape, usesLIBXSMM: Bool) {
        self.shape = shape
        guard usesLIBXSMM, S.self == Float.self || S.self == Double.self else {
            kernels = nil
            return
        }
        let isDouble: Int32 = S.self == Double.self ? 1 : 0
        let (t, c, h) = (Int32(shape.tokens), Int32(shape.channels), Int32(shape.hidden))
        if let hidden = pixelfly_xsmm_gemm(isDouble, c, h, t, c, t, c, 0, 1),
           let output = pixelfly_xsmm_gemm(isDouble, c, t, h, c, h, c, 0, 1),
           let hiddenGradient = pixelfly_xsmm_gemm(isDouble, c, h, t, c, h, c, 1, 0),
           let inputGradient = pixelfly_xsmm_gemm(isDouble, c, t, h, c, t, c, 1, 0) {
            kernels = (isDouble, hidden, output, hiddenGradient, inputGradient)
        } else {
            kernels = nil
        }
    }

    /// Whether the four products run on LIBXSMM kernels.
    var runsOnLIBXSMM: Bool { kernels != nil }

    /// H_b += W₁·X_b.
    func addHidden(w1: UnsafePointer<S>, x: UnsafePointer<S>, into hb: UnsafeMutablePointer<S>) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        guard let kernels else {
            return S.gemm(.none, .none, m: h, n: c, k: t, alpha: 1, a: w1, lda: t, b: x, ldb: c, beta: 1, c: hb, ldc: c)
        }
        pixelfly_xsmm_gemm_run(kernels.isDouble, kernels.hidden, x, w1, hb)
    }

    /// Y_b += W₂·A_b.
    func addOutput(w2: UnsafePointer<S>, activated a: UnsafePointer<S>, into y: UnsafeMutablePointer<S>) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        guard let kernels else {
            return S.gemm(.none, .none, m: t, n: c, k: h, alpha: 1, a: w2, lda: h, b: a, ldb: c, beta: 1, c: y, ldc: c)
        }
        pixelfly_xsmm_gemm_run(kernels.isDouble, kernels.output, a, w2, y)
    }

    /// dA_b = W₂ᵀ·dY_b.
    func hiddenGradient(w2: UnsafePointer<S>, dy: UnsafePointer<S>, into dA: UnsafeMutablePointer<S>) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        guard let kernels else {
            return S.gemm(.transposed, .none, m: h, n: c, k: t, alpha: 1, a: w2, lda: h, b: dy, ldb: c, beta: 0, c: dA, ldc: c)
        }
        pixelfly_xsmm_gemm_run(kernels.isDouble, kernels.hiddenGradient, dy, w2, dA)
    }

    /// dX_b = W₁ᵀ·dH_b.
    func inputGradient(w1: UnsafePointer<S>, dh: UnsafePointer<S>, into dx: UnsafeMutablePointer<S>) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        guard let kernels else {
            return S.gemm(.transposed, .none, m: t, n: c, k: h, alpha: 1, a: w1, lda: t, b: dh, ldb: c, beta: 0, c: dx, ldc: c)
        }
        pixelfly_xsmm_gemm_run(kernels.isDouble, kernels.inputGradient, dh, w1, dx)
    }
}
