import CLibXSMM
import PixelflyCore

/// The four token-mixing products of one sequence that produce a T×C or H×C block, as LIBXSMM
/// kernels generated once per layer shape (`DenseTokenMixing`):
///
///     H_b  += W₁·X_b      (H×C)        Y_b  += W₂·A_b     (T×C)
///     dA_b  = W₂ᵀ·dY_b    (H×C)        dX_b  = W₁ᵀ·dH_b   (T×C)
///
/// Row-major blocks are column-major with rows and columns swapped, so each is one
/// column-major product with m = C (the channels, contiguous): H_bᵀ = X_bᵀ·W₁ᵀ is
/// m × n × k = C × H × T with A = X_b (lda C) and B = W₁ (ldb T); the two gradients read W₂ and W₁
/// through LIBXSMM's transposed-B flag. The weight gradients dW₁ += dH_b·X_bᵀ and
/// dW₂ += dY_b·A_bᵀ reduce over C, which LIBXSMM 1.17 would need a transposed A for; they stay
/// on BLAS.
///
/// Why: OpenBLAS packs both operands on every call, and at inner dimensions of T = 16 and H = 32
/// over C = 768 columns that packing is a large part of the work. The four products on LIBXSMM
/// (no packing) took 5.26–5.28 ms against 6.83–7.00 ms on OpenBLAS for 64 sequences of the
/// default job's Mixer layer (T 16, C 768, H 32), one thread, weight gradients on OpenBLAS in
/// both (AMD EPYC Zen 2, OpenBLAS `Zen`, LIBXSMM `hsw`; notebooks-md/kernel-families.md,
/// "Twenty-fifth pass").
struct TokenMixingProducts {
    private let isDouble: Int32
    private let hidden: UnsafeRawPointer
    private let output: UnsafeRawPointer
    private let hiddenGradient: UnsafeRawPointer
    private let inputGradient: UnsafeRawPointer

    /// Nil when LIBXSMM cannot generate one of the kernels (no JIT for this CPU, or a scalar
    /// type other than Float and Double); the caller then runs the products on BLAS.
    init?<S: TensorScalar>(_ shape: TokenMixingShape, scalar: S.Type) {
        guard S.self == Float.self || S.self == Double.self else { return nil }
        let isDouble: Int32 = S.self == Double.self ? 1 : 0
        let (t, c, h) = (Int32(shape.tokens), Int32(shape.channels), Int32(shape.hidden))
        guard let hidden = pixelfly_xsmm_gemm(isDouble, c, h, t, c, t, c, 0, 1),
              let output = pixelfly_xsmm_gemm(isDouble, c, t, h, c, h, c, 0, 1),
              let hiddenGradient = pixelfly_xsmm_gemm(isDouble, c, h, t, c, h, c, 1, 0),
              let inputGradient = pixelfly_xsmm_gemm(isDouble, c, t, h, c, t, c, 1, 0)
        else { return nil }
        self.isDouble = isDouble
        (self.hidden, self.output, self.hiddenGradient, self.inputGradient) = (hidden, output, hiddenGradient, inputGradient)
    }

    /// H_b += W₁·X_b.
    func addHidden<S>(w1: UnsafePointer<S>, x: UnsafePointer<S>, into h: UnsafeMutablePointer<S>) {
        pixelfly_xsmm_gemm_run(isDouble, hidden, x, w1, h)
    }

    /// Y_b += W₂·A_b.
    func addOutput<S>(w2: UnsafePointer<S>, activated a: UnsafePointer<S>, into y: UnsafeMutablePointer<S>) {
        pixelfly_xsmm_gemm_run(isDouble, output, a, w2, y)
    }

    /// dA_b = W₂ᵀ·dY_b.
    func hiddenGradient<S>(w2: UnsafePointer<S>, dy: UnsafePointer<S>, into dA: UnsafeMutablePointer<S>) {
        pixelfly_xsmm_gemm_run(isDouble, hiddenGradient, dy, w2, dA)
    }

    /// dX_b = W₁ᵀ·dH_b.
    func inputGradient<S>(w1: UnsafePointer<S>, dh: UnsafePointer<S>, into dx: UnsafeMutablePointer<S>) {
        pixelfly_xsmm_gemm_run(isDouble, inputGradient, dh, w1, dx)
    }
}
