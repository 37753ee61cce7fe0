// Does one kernel that sums a strip's blocks *and* its rank-(r + 1) low-rank term in the same
// registers, writing the output once, beat LIBXSMM's two calls (batch-reduce strips with beta 0,
// then the term with beta 1, which reloads an output block whose rows are `out` floats apart)?
// (notebooks-md/kernel-passes/35-fused-strip-and-term.md: faster here by 0–2 %, slower in the
// library, and dropped.)
//
// The forward of an `in` -> `out` flat block butterfly operator at b = 48: 48-row strips of
// `count` blocks (the AVX-512 families' strips), batch 1024 in 64-row tiles, in the library's
// order (512-row chunks, groups of strips whose packed weights fill a quarter of a 1 MB L2, tile
// by tile within a group), output in place. Variants, alternated, ROUNDS rounds after a warm-up:
//   0. LIBXSMM strips + LIBXSMM term (the library);  1. the intrinsics kernel below, fused;
//   2. LIBXSMM strips alone;                          3. the intrinsics kernel, strips alone.
// AVX-512F only (3 x 8 accumulators: 48 rows x 8 batch rows). Not part of the build:
//
//   clang -O2 scripts/fused-strip-term-experiment.c -o /tmp/fused -lxsmm -lpthread -lm -ldl -lopenblas
//   /tmp/fused 768 3072 3 64 9; /tmp/fused 3072 768 12 64 9   # in out count rank rounds
#include <immintrin.h>
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define AVX512 __attribute__((target("avx512f")))
/* acc[.][0..N) += A (48 x depth, packed, 48 floats a column) · B (depth x N, columns ldb apart). */
#define ACCUMULATE(N, A, B, DEPTH, LDB)                                                                     \
  for (int p = 0; p < (DEPTH); p++) {                                                                        \
    const float *ap = (A) + (size_t)p * 48;                                                                  \
    const __m512 a0 = _mm512_load_ps(ap), a1 = _mm512_load_ps(ap + 16), a2 = _mm512_load_ps(ap + 32);       \
    for (int j = 0; j < N; j++) {                                                                            \
      const __m512 s = _mm512_set1_ps((B)[(size_t)j * (LDB) + p]);                                           \
      acc[0][j] = _mm512_fmadd_ps(a0, s, acc[0][j]), acc[1][j] = _mm512_fmadd_ps(a1, s, acc[1][j]);          \
      acc[2][j] = _mm512_fmadd_ps(a2, s, acc[2][j]);                                                         \
    }                                                                                                        \
  }
/* N columns of C: every block of the strip, then the term (A_t, B_t; none when at is NULL), stored once. */
#define STEP(N) \
AVX512 static inline void step##N(const float *a, const float *b, float *c, int k, int ldb, int ldc, unsigned long long count, \
  const unsigned long long *ao, const unsigned long long *bo, const float *at, const float *bt, int kt, int ldbt) { \
  __m512 acc[3][N]; \
  for (int j = 0; j < N; j++) for (int v = 0; v < 3; v++) acc[v][j] = _mm512_setzero_ps(); \
  for (unsigned long long i = 0; i < count; i++) { \
    const float *ai = (const float *)((const char *)a + ao[i]), *bi = (const float *)((const char *)b + bo[i]); \
    ACCUMULATE(N, ai, bi, k, ldb) \
  } \
  if (at) { ACCUMULATE(N, at, bt, kt, ldbt) } \
  for (int j = 0; j < N; j++) for (int v = 0; v < 3; v++) _mm512_storeu_ps(c + (size_t)j * ldc + 16 * v, acc[v][j]); \
}
STEP(8)
STEP(1)
AVX512 static void fused(const float *a, const float *b, float *c, int n, int k, int ldb, int ldc, unsigned long long count,
  const unsigned long long *ao, const unsigned long long *bo, const float *at, const float *bt, int kt, int ldbt) {
  int t = 0;
  for (; t + 8 <= n; t += 8) step8(a, b + (size_t)t * ldb, c + (size_t)t * ldc, k, ldb, ldc, count, ao, bo, at, at ? bt + (size_t)t * ldbt : 0, kt, ldbt);
  for (; t < n; t++) step1(a, b + (size_t)t * ldb, c + (size_t)t * ldc, k, ldb, ldc, count, ao, bo, at, at ? bt + (size_t)t * ldbt : 0, kt, ldbt);
}
int main(int argc, char **argv) {
  int in = atoi(argv[1]), out = atoi(argv[2]), count = atoi(argv[3]), rank = atoi(argv[4]), rounds = argc > 5 ? atoi(argv[5]) : 7;
  const int batch = 1024, b = 48, tile = 64, h = 48, strips = out / h, kt = rank + 1, ldbt = kt;
  const int group = 262144 / (h * (b * count + kt) * 4) > 0 ? 262144 / (h * (b * count + kt) * 4) : 1;
  float *x = aligned_alloc(64, (size_t)batch * in * 4), *y = aligned_alloc(64, (size_t)batch * out * 4), *y2 = aligned_alloc(64, (size_t)batch * out * 4);
  float *w = aligned_alloc(64, (size_t)strips * h * b * count * 4), *hid = aligned_alloc(64, (size_t)batch * kt * 4), *u = aligned_alloc(64, (size_t)out * kt * 4);
  for (size_t i = 0; i < (size_t)batch * in; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  for (size_t i = 0; i < (size_t)strips * h * b * count; i++) w[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  for (size_t i = 0; i < (size_t)batch * kt; i++) hid[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  for (size_t i = 0; i < (size_t)out * kt; i++) u[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  unsigned long long *aoff = malloc(sizeof(*aoff) * strips * count), *boff = malloc(sizeof(*boff) * strips * count);
  for (int s = 0; s < strips; s++) for (int j = 0; j < count; j++) {
    aoff[s * count + j] = (unsigned long long)j * h * b * 4; boff[s * count + j] = (unsigned long long)(((s * 5 + j * 7) % (in / b)) * b) * 4; }
  libxsmm_blasint lda = h, ldb = in, ldc = out, k = b, ldh = kt; float one = 1, zero = 0; int fl = 0, pf = 0;
  libxsmm_smmfunction_reducebatch_offs br = libxsmm_smmdispatch_reducebatch_offs(h, tile, k, &lda, &ldb, &ldc, &one, &zero, &fl, &pf);
  libxsmm_blasint kr = kt;
  libxsmm_smmfunction lr = libxsmm_smmdispatch(h, tile, kr, &lda, &ldh, &ldc, &one, &one, &fl, &pf);
  double best[4] = {1e9, 1e9, 1e9, 1e9}, sum[4] = {0};
  int faster = 0;
  for (int r = -1; r < rounds; r++) {
    double t4[4];
    for (int v = 0; v < 4; v++) {
      float *Y = v == 1 ? y2 : y;
      double t0 = now();
      for (int c0 = 0; c0 < batch; c0 += 512)
        for (int g0 = 0; g0 < strips; g0 += group)
          for (int r0 = c0; r0 < c0 + 512; r0 += tile)
            for (int s = g0; s < g0 + group && s < strips; s++) {
              const float *A = w + (size_t)s * h * b * count, *B = x + (size_t)r0 * in, *U = u + (size_t)s * h * kt, *H = hid + (size_t)r0 * kt;
              float *C = Y + (size_t)r0 * out + (size_t)s * h;
              unsigned long long cnt = count;
              if (v == 0) { br(A, B, C, &cnt, aoff + s * count, boff + s * count); lr(U, H, C); }
              else if (v == 2) br(A, B, C, &cnt, aoff + s * count, boff + s * count);
              else fused(A, B, C, tile, b, in, out, cnt, aoff + s * count, boff + s * count, v == 1 ? U : 0, H, kt, ldbt);
            }
      t4[v] = now() - t0;
      if (r >= 0) { sum[v] += t4[v]; if (t4[v] < best[v]) best[v] = t4[v]; }
    }
    if (r >= 0) faster += t4[1] < t4[0];
  }
  // Correctness: both variants once more on the same operands; they sum in the same order.
  { unsigned long long cnt = count;
    for (int r0 = 0; r0 < batch; r0 += tile) for (int s = 0; s < strips; s++) {
      const float *A = w + (size_t)s * h * b * count, *B = x + (size_t)r0 * in, *U = u + (size_t)s * h * kt, *H = hid + (size_t)r0 * kt;
      br(A, B, y + (size_t)r0 * out + (size_t)s * h, &cnt, aoff + s * count, boff + s * count); lr(U, H, y + (size_t)r0 * out + (size_t)s * h);
      fused(A, B, y2 + (size_t)r0 * out + (size_t)s * h, tile, b, in, out, cnt, aoff + s * count, boff + s * count, U, H, kt, ldbt); }
    double e = 0; for (size_t i = 0; i < (size_t)batch * out; i++) { double d = y[i] - y2[i]; if (d < 0) d = -d; if (d > e) e = d; }
    printf("max |libxsmm - fused| = %.3g\n", e); }
  double fs = 2.0 * batch * out * (double)b * count, ft = 2.0 * batch * out * kt;
  const char *names[4] = {"libxsmm strips+term", "fused strips+term", "libxsmm strips", "intrinsics strips"};
  for (int v = 0; v < 4; v++) { double f = fs + (v < 2 ? ft : 0);
    printf("%d->%d count %d group %d %-20s mean %.3f ms best %.3f ms  %.1f GFLOP/s\n", in, out, count, group, names[v], sum[v] / rounds * 1e3, best[v] * 1e3, f / best[v] * 1e-9); }
  printf("fused faster than libxsmm in %d of %d rounds\n", faster, rounds);
  return 0;
}
