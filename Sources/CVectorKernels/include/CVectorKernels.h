#ifndef CVECTORKERNELS_H
#define CVECTORKERNELS_H

#include <stddef.h>
#include "SpinWait.h"

/// Element-wise Float kernels that Swift cannot vectorise well without compiler flags: the
/// package may not pass -mavx2/-mfma (no unsafe flags), so Swift code is compiled for baseline
/// x86-64 (SSE2, no FMA). These C functions carry an AVX2+FMA body selected at run time
/// (`__attribute__((target))` + `__builtin_cpu_supports`) and a portable body for other CPUs;
/// GELU, LayerNorm, AdamW and the bias rows also have an AVX-512F body (16 lanes, masked
/// tail), preferred where the CPU reports AVX-512F.
///
/// GELU (tanh approximation, as the logistic x·σ(2u), u = √(2/π)(x + 0.044715x³)):
///   forward   y = x·s,                                 s = σ(2u)
///   backward  dx = dy·(s + x·s(1−s)·2√(2/π)(1 + 3·0.044715x²))
/// Where e^(−2u) would exceed Float's range, s is exactly 0. The backward may run in place
/// (dx == dy: every element is read before it is written).

void pixelfly_gelu_forward_f32(const float *x, float *y, size_t count);
void pixelfly_gelu_backward_f32(const float *x, const float *dy, float *dx, size_t count);

/// 1 when the CPU has AVX2+FMA (the body GELU, LayerNorm, AdamW and the bias rows use unless
/// AVX-512F is there too), 0 for the portable ones.
int pixelfly_vector_kernels_use_avx2(void);

/// The bodies of the GELU, LayerNorm, AdamW and bias-row kernels, for tests and timing that run
/// one explicitly (the `_body` entry points).
enum { PIXELFLY_BODY_PORTABLE = 0, PIXELFLY_BODY_AVX2 = 1, PIXELFLY_BODY_AVX512 = 2 };

/// 1 when `body` can run on this CPU (AVX-512: `__builtin_cpu_supports("avx512f")`, which also
/// requires the OS to save the ZMM state), else 0.
int pixelfly_body_available(int body);

/// The fastest of those bodies this CPU can run (AVX-512F, else AVX2+FMA, else portable): the
/// one the dispatching GELU, LayerNorm, AdamW and bias-row entry points use.
int pixelfly_fastest_body(void);

/// The GELU forward/backward through one named body; an unavailable body runs the portable one.
void pixelfly_gelu_forward_f32_body(int body, const float *x, float *y, size_t count);
void pixelfly_gelu_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t count);

/// GELU forward/backward over a block of a row-major matrix: `rows` pieces of `count` elements,
/// `stride` elements apart in every operand. Made for the epilogue of a block-sparse product
/// (`OutputEpilogue`): the product's output was just written and is in cache, but the
/// backward's pre-activation x (12 MB per MLP layer of the Mixer) is in L3 or memory, and the
/// hardware prefetchers, which stop at 4 KB page boundaries, leave the pieces of 3–12 KB
/// waiting on it; so while a row runs, the backward prefetches the next row's piece of x, one
/// line per 16 elements. (Prefetching the forward's destination the same way changed nothing
/// measurable: the forward waits on its division.) `_body` runs a named body, as above.
void pixelfly_gelu_forward_rows_f32(const float *x, float *y, size_t rows, size_t count, size_t stride);
void pixelfly_gelu_backward_rows_f32(const float *x, const float *dy, float *dx, size_t rows, size_t count, size_t stride);
void pixelfly_gelu_forward_rows_f32_body(int body, const float *x, float *y, size_t rows, size_t count, size_t stride);
void pixelfly_gelu_backward_rows_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows, size_t count,
                                          size_t stride);

/// The forward that keeps the derivative, for an MLP whose fc2 backward scales by it instead of
/// recomputing it from h: y = gelu(h) and h ← gelu′(h), one gate for both (the same bits as the
/// backward's factor). Then the backward is `pixelfly_scale_rows_f32`: out ⊙= factor, one
/// multiply per element, prefetching the next row's factor as the backward does. Same row
/// layout as above; `_body` runs a named body (the scale's AVX-512 request runs the AVX2 body).
void pixelfly_gelu_forward_derivative_rows_f32(float *h, float *y, size_t rows, size_t count, size_t stride);
void pixelfly_scale_rows_f32(const float *factor, float *out, size_t rows, size_t count, size_t stride);
void pixelfly_gelu_forward_derivative_rows_f32_body(int body, float *h, float *y, size_t rows, size_t count, size_t stride);
void pixelfly_scale_rows_f32_body(int body, const float *factor, float *out, size_t rows, size_t count, size_t stride);

/// Column sums of a column-major block (`cols` columns of `rows` contiguous elements, `lda`
/// apart): out[j] += Σ_{i < rows} a[j·lda + i]. The block-sparse weight gradient's bias sums,
/// over the dy chunk it has just transposed (contiguous columns instead of rows `out` apart).
/// f32 runs eight lanes with four running sums where the CPU has AVX2 (columns of 8 rows or
/// more; shorter ones, and other CPUs, take the portable body); f64 is portable.
void pixelfly_column_sums_f32(const float *a, size_t rows, size_t cols, size_t lda, float *out);
void pixelfly_column_sums_f64(const double *a, size_t rows, size_t cols, size_t lda, double *out);

/// Adds a bias to `rows` row pieces of `count` elements, `stride` apart:
/// out[i·stride + j] += bias[j]. The LIBXSMM forward's bias, over a tile's rows of a strip
/// group's output columns once the group's products are done (contiguous pieces of several KB,
/// instead of one rank-1 update per strip on its 64 rows `out` apart). f32 runs
/// `pixelfly_fastest_body()` (AVX-512F with a masked tail, AVX2, or portable; every body adds
/// once per element, so all give the same bits); `_body` runs a named one, an unavailable body
/// the portable one. f64 is portable.
void pixelfly_add_bias_rows_f32(float *out, const float *bias, size_t rows, size_t count, size_t stride);
void pixelfly_add_bias_rows_f32_body(int body, float *out, const float *bias, size_t rows, size_t count, size_t stride);
void pixelfly_add_bias_rows_f64(double *out, const double *bias, size_t rows, size_t count, size_t stride);


/// LayerNorm of `rows` rows of length n (biased variance, two passes, as the Swift kernel):
///   μ = Σx/n, σ² = Σ(x − μ)²/n, r = 1/√(σ² + ε), y = γ ⊙ (x − μ)·r + β;
/// stats[2i] = μ, stats[2i+1] = r for row i.
void pixelfly_layernorm_rows_f32(const float *x, float *y, size_t rows, size_t n,
                                 const float *gain, const float *bias, float epsilon, float *stats);

/// LayerNorm backward over `rows` rows. With x̂ = (x − μ)·r and g = dy ⊙ γ:
///   dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)) [+ skip],  gainGradient += dy ⊙ x̂,  biasGradient += dy.
/// `skip` (rows × n, or NULL) is added to dx as it is stored: a pre-norm residual block's
/// gradient through its skip path, which would otherwise be a pass of its own over dx.
void pixelfly_layernorm_rows_backward_f32(const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                          const float *gain, const float *stats,
                                          float *gain_gradient, float *bias_gradient, const float *skip);

/// The two LayerNorm passes through one named body (`PIXELFLY_BODY_AVX512`: 16 lanes, any n,
/// masked tail; `PIXELFLY_BODY_AVX2`: 8 lanes, n a multiple of 8; portable), for tests and
/// timing; a body the CPU lacks, or AVX2 on another n, runs the portable one. The entry points
/// above take `pixelfly_fastest_body()`. The vector bodies keep four running sums per row.
void pixelfly_layernorm_rows_f32_body(int body, const float *x, float *y, size_t rows, size_t n,
                                      const float *gain, const float *bias, float epsilon, float *stats);
void pixelfly_layernorm_rows_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows,
                                               size_t n, const float *gain, const float *stats,
                                               float *gain_gradient, float *bias_gradient, const float *skip);

/// C (m × n, row-major, ldc) += A · Bᵀ for row-major A (m × k, lda) and B (n × k, ldb): each
/// element an inner product of two contiguous rows; when `row_sums` is not NULL, row_sums[i] +=
/// Σ_p A[i, p] as well (a bias gradient). For weight gradients that reduce over the operands'
/// contiguous axis (`innerproducts.c`). AVX-512F, AVX2+FMA or portable body; `_body` runs a named
/// one (an unavailable body runs the portable one).
void pixelfly_inner_products_f32(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                                 size_t m, size_t n, size_t k, float *row_sums);
void pixelfly_inner_products_f32_body(int body, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                                      size_t ldc, size_t m, size_t n, size_t k, float *row_sums);

/// One AdamW step (PyTorch's `AdamW`, decoupled decay folded into `decay`) over `count`
/// elements, the constants of the step and parameter in `c`:
///   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
///   θ ← θ·decay − step_size·m / (√v · inverse_sqrt_correction2 + ε)
/// with decay = 1 − ηλ (1 without decay), step_size = η/(1 − β₁ᵗ), inverse_sqrt_correction2 =
/// 1/√(1 − β₂ᵗ). AVX-512F body (masked tail) where the CPU has it, else AVX2+FMA, else portable;
/// the bodies are those `pixelfly_body_available` reports, and `_body` runs a named one.
struct pixelfly_adamw_constants {
    float beta1, beta2, epsilon, decay, step_size, inverse_sqrt_correction2;
};
void pixelfly_adamw_f32(float *theta, const float *g, float *m, float *v, size_t count,
                        const struct pixelfly_adamw_constants *c);
void pixelfly_adamw_f32_body(int body, float *theta, const float *g, float *m, float *v, size_t count,
                             const struct pixelfly_adamw_constants *c);

/// The core's peak single-precision FMA rate, for reading GEMM speeds against it: runs `rounds`
/// rounds of PIXELFLY_FMA_CHAINS independent chains a ← a·multiplier + addend, each one vector
/// of `lanes` floats (8: AVX2+FMA, 16: AVX-512F), from `start` (PIXELFLY_FMA_CHAINS·lanes
/// floats) and stores the final values to `out` (as many). One round is
/// 2·PIXELFLY_FMA_CHAINS·lanes FLOPs. Returns 1, or 0 (nothing written) when the CPU lacks
/// the instruction set or `lanes` is neither 8 nor 16.
enum { PIXELFLY_FMA_CHAINS = 12 };
int pixelfly_fma_chains_f32(int lanes, long rounds, const float *start, float multiplier, float addend, float *out);

/// The batch-reduce product of a 24-row strip of a block-sparse operator, AVX2+FMA, column-major
/// as LIBXSMM's kernels: C (24 × n, ldc) = β·C + Σ_{i < count} A_i (24 × k, lda) · B_i
/// (k × n, ldb), where A_i starts `a_offsets[i]` bytes after a and B_i `b_offsets[i]` bytes
/// after b (NULL offsets: every product at offset 0, for count = 1), β = 1 when `accumulate`
/// is non-zero, else 0. Returns 1, or 0 without touching C on a CPU without AVX2+FMA.
///
/// Why not LIBXSMM: its AVX2 code for m = 24 keeps 3 × 3 = 9 accumulators (3 vectors of rows ×
/// 3 columns of C), enough for two FMA pipes of 4 cycles' latency (Zen 3, Intel since Skylake)
/// but not for 5 cycles (Zen 2: 10 FMAs must be in flight). This kernel steps over 4 columns,
/// 12 accumulators (+ 3 rows of A and a broadcast = 16 registers). On an AMD EPYC Zen 2, one
/// thread, batch 1024, the 768 × 3072 operator's strips ran at 97.0 GFLOP/s against LIBXSMM's
/// 80.5 (`scripts/strip-kernel-experiment.c`;
/// notebooks-md/kernel-passes/22-zen2-hand-written-strip.md).
int pixelfly_strip24_f32(const float *a, const float *b, float *c, int n, int k, int lda, int ldb, int ldc, unsigned long long count,
                         const unsigned long long *a_offsets, const unsigned long long *b_offsets, int accumulate);

#endif
