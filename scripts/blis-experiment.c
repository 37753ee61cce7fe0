// Is BLIS a faster backend than OpenBLAS (dense layers) or LIBXSMM (block-sparse strips) on this
// CPU? (notebooks-md/kernel-passes/21-blis-and-x-stationary.md.) One thread; each configuration's
// variants alternate in one process, ROUNDS rounds after one untimed warm-up round, mean and
// best GFLOP/s.
//
//   dense   row-major products of the dense layers at batch 1024: OpenBLAS cblas_sgemm against
//           BLIS's bli_sgemm (its own packing and blocking, the kernels of the configuration
//           BLIS picks for this CPU at run time).
//   groups  the block-sparse forward of a flat block butterfly operator (B = 16, K = 2) as row
//           groups whose rows share their input columns, in one or two contiguous runs
//           (`group_shapes` in scripts/gemm-experiment-harness.h). Every variant runs a chunk
//           of 576 batch rows group by group (a group's weights then come from L2 for the
//           chunk's other tiles; variants 4 and 5 instead run tile by tile over all groups).
//           Six variants:
//           0. LIBXSMM's batch-reduce GEMM per 64-row batch tile and 32-row (24 at b = 48)
//              strip over the strip's b-wide blocks of x in place (what the library calls);
//           1. BLIS's gemm micro-kernel (MR × NR, 6 × 16 for sgemm under AVX2) on weights
//              packed once into k × NR panels (as a training step would pack them once per
//              step), x packed per 96-row batch tile and group into MR-row panels of the
//              group's columns (in the timed loop): a 6 × 16 block of y = x·Wᵀ per call;
//           2. x packed once per chunk into 6-row panels of all its columns (`pack_x_panels`,
//              in the timed loop), each run of a group then one micro-kernel call on its
//              contiguous slice of a panel; 96-row tiles, weight panel by weight panel;
//           3. as 2, over the whole 576-row chunk per weight panel;
//           4, 5. x-stationary: a tile of 24 (4) or 48 (5) batch rows packed as in 2, then every
//              group's weight panels streamed over it (the whole operator's weights, from L3,
//              once per tile; the tile's panels stay in L1 / L2).
//           6. as 4, on a 6 × 16 micro-kernel in AVX2 intrinsics (`intrinsics_6x16`) instead of
//              BLIS's: whether the loop order or BLIS's kernel makes the difference.
//           The warm-up round checks variants 1–6 against OpenBLAS's group GEMMs.
//
// Not part of the build: BLIS is not a dependency of the library. To run it:
//
//   apt-get install libblis-serial-dev   # BLIS 0.9.0 on Debian 12
//   gcc -O3 -march=native scripts/blis-experiment.c -o /tmp/blis-experiment
//       -I/usr/include/x86_64-linux-gnu/blis-serial -lopenblas
//       -L/usr/lib/x86_64-linux-gnu/blis-serial -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-serial -lblis -lxsmm -lpthread -lm -ldl
//   /tmp/blis-experiment dense 7
//   /tmp/blis-experiment groups 9 1024
//
// OpenBLAS comes first on the link line so that cblas_sgemm (which BLIS also exports) is
// OpenBLAS's; BLIS is called through its own names only.
#include <blis.h>
#include <immintrin.h>
#include <libxsmm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm-experiment-harness.h"

// OpenBLAS's declarations (its cblas.h would clash with the one BLIS installs beside blis.h).
void openblas_set_num_threads(int);
char *openblas_get_corename(void);

static void blis_product(const DenseProduct *d, const float *a, int lda, const float *b, int ldb, float *c) {
    float one = 1, zero = 0;
    bli_sgemm(d->trans_a == 'N' ? BLIS_NO_TRANSPOSE : BLIS_TRANSPOSE, d->trans_b == 'N' ? BLIS_NO_TRANSPOSE : BLIS_TRANSPOSE, d->m,
              d->n, d->k, &one, (float *)a, lda, 1, (float *)b, ldb, 1, &zero, c, d->n, 1);
}

static void dense(int rounds) {
    const DenseProduct products[] = {
        {"dense forward 3072 -> 768", 'N', 'T', 1024, 768, 3072},
        {"dense forward 768 -> 3072", 'N', 'T', 1024, 3072, 768},
        {"dense forward 1024 -> 4096", 'N', 'T', 1024, 4096, 1024},
        {"dense forward 4096 -> 1024", 'N', 'T', 1024, 1024, 4096},
        {"dense input gradient 4096 -> 1024", 'N', 'N', 1024, 1024, 4096},
        {"dense input gradient 768 -> 3072", 'N', 'N', 1024, 768, 3072},
        {"dense weight gradient 768 x 3072", 'T', 'N', 768, 3072, 1024},
        {"dense weight gradient 4096 x 1024", 'T', 'N', 4096, 1024, 1024},
    };
    compare_dense(products, sizeof products / sizeof *products, rounds, "BLIS", blis_product);
}

/// BLIS's sgemm micro-kernel and its register block.
typedef struct {
    sgemm_ukr_ft kernel;
    int mr, nr;
    cntx_t *context;
} MicroKernel;

/// Packs rows [first, first + count) of x, the group's `depth` columns (its two runs laid end to
/// end, from `column1` and `column2`), into MR-row panels: panel i holds
/// a[p · MR + ii] = x[first + i·MR + ii][column(p)], zero past the last row.
static void pack_x(float *restrict a, const float *restrict x, const GroupShape *g, int first, int count, int column1,
                   int column2, int mr) {
    const int depth = g->run1 + g->run2;
    for (int i = 0; i < count; i += mr) {
        float *panel = a + (size_t)i * depth;
        for (int ii = 0; ii < mr; ii++) {
            const float *row = i + ii < count ? x + (size_t)(first + i + ii) * g->in : NULL;
            for (int p = 0; p < depth; p++)
                panel[p * mr + ii] = row ? row[p < g->run1 ? column1 + p : column2 + p - g->run1] : 0.0f;
        }
    }
}

/// y[tile rows, group rows] = x[tile rows, group columns] · Wᵀ with BLIS's micro-kernel: weights
/// packed k × NR per NR rows of the group (`wpack`), x packed per tile (`pack_x`).
static void blis_group_tile(const MicroKernel *u, const float *wpack, float *apack, const float *x, float *y, const GroupShape *g,
                            int first, int count, int column1, int column2, int q) {
    const int depth = g->run1 + g->run2;
    float one = 1, zero = 0;
    auxinfo_t aux;
    memset(&aux, 0, sizeof aux);
    pack_x(apack, x, g, first, count, column1, column2, u->mr);
    for (int j = 0; j < g->rows; j += u->nr) {
        const float *b = wpack + (size_t)j * depth;
        for (int i = 0; i < count; i += u->mr) {
            const float *a = apack + (size_t)i * depth;
            const int m = count - i < u->mr ? count - i : u->mr;
            float *c = y + (size_t)(first + i) * g->out + q * g->rows + j;
            bli_auxinfo_set_next_ab((void *)(a + (size_t)u->mr * depth), (void *)b, &aux);
            u->kernel(m, u->nr, depth, &one, (float *)a, (float *)b, &zero, c, g->out, 1, &aux, u->context);
        }
    }
}

/// Packs rows [first, first + count) of x, all `in` columns, into 6-row panels (MR = 6):
/// panel i holds a[c * 6 + ii] = x[first + 6i + ii][c], zero past the last row. Eight columns
/// at a time: six rows' 8 floats transposed in registers (two rows zero), then 8 stores of 8
/// floats 6 apart, each overwriting the previous one's two spare lanes; the panel has 2 floats
/// of slack at its end (`panel_floats`). `in` is a multiple of 8 (every shape here is).
static size_t panel_floats(int in) { return (size_t)6 * in + 8; }

static void pack_x_panels(float *restrict a, const float *restrict x, int in, int first, int count) {
    for (int i = 0; i < count; i += 6) {
        float *panel = a + (size_t)(i / 6) * panel_floats(in);
        const float *rows[6];
        for (int ii = 0; ii < 6; ii++) rows[ii] = i + ii < count ? x + (size_t)(first + i + ii) * in : NULL;
        for (int c = 0; c < in; c += 8) {
            __m256 r[8];
            for (int ii = 0; ii < 6; ii++) r[ii] = rows[ii] ? _mm256_loadu_ps(rows[ii] + c) : _mm256_setzero_ps();
            r[6] = r[7] = _mm256_setzero_ps();
            const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
            const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
            const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
            const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            // Column c + j: rows 0-3 in u[j % 4]'s low or high half, rows 4-7 in u[4 + j % 4]'s.
            const __m256 column[8] = {
                _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31),
            };
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(panel + (size_t)(c + j) * 6, column[j]);
        }
    }
}

/// y[rows first..<first+count, group rows] = x · Wᵀ from x's panels packed for the whole chunk
/// that starts at `chunk_first` (`pack_x_panels`), weight panel by weight panel over the rows'
/// 6-row panels: each run of the group is one micro-kernel call on its contiguous slice of a
/// panel (β = 1 for the second run).
static void blis_group_panels(const MicroKernel *u, const float *wpack, const float *xpack, float *y, const GroupShape *g,
                              int chunk_first, int first, int count, int column1, int column2, int q) {
    const int depth = g->run1 + g->run2;
    float one = 1, zero = 0, accumulate = 1;
    auxinfo_t aux;
    memset(&aux, 0, sizeof aux);
    for (int j = 0; j < g->rows; j += u->nr) {
        const float *b = wpack + (size_t)j * depth;
        for (int i = first; i < first + count; i += 6) {
            const float *panel = xpack + (size_t)((i - chunk_first) / 6) * panel_floats(g->in);
            const int m = first + count - i < 6 ? first + count - i : 6;
            float *c = y + (size_t)i * g->out + q * g->rows + j;
            bli_auxinfo_set_next_ab((void *)(panel + panel_floats(g->in) + column1 * 6), (void *)b, &aux);
            u->kernel(m, u->nr, g->run1, &one, (float *)(panel + column1 * 6), (float *)b, &zero, c, g->out, 1, &aux, u->context);
            if (g->run2)
                u->kernel(m, u->nr, g->run2, &one, (float *)(panel + column2 * 6), (float *)(b + (size_t)g->run1 * u->nr), &accumulate,
                          c, g->out, 1, &aux, u->context);
        }
    }
}

/// A 6 × 16 micro-kernel in AVX2 intrinsics with BLIS's signature (n = 16, cs_c = 1, α = 1
/// only): twelve accumulators, per depth step two vector loads of the weight panel and six
/// broadcasts from the x panel, as BLIS's own; for comparison with it in the same loops.
static void intrinsics_6x16(dim_t m, dim_t n, dim_t k, float *restrict alpha, float *restrict a, float *restrict b,
                            float *restrict beta, float *restrict c, inc_t rs_c, inc_t cs_c, auxinfo_t *restrict data,
                            cntx_t *restrict cntx) {
    (void)n, (void)alpha, (void)cs_c, (void)data, (void)cntx;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (dim_t p = 0; p < k; p++, a += 6, b += 16) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 ai = _mm256_broadcast_ss(a);
        c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
    }
    const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < m; i++) {
        float *row = c + i * rs_c;
        __m256 r0 = rows[i][0], r1 = rows[i][1];
        if (*beta != 0) r0 = _mm256_add_ps(r0, _mm256_loadu_ps(row)), r1 = _mm256_add_ps(r1, _mm256_loadu_ps(row + 8));
        _mm256_storeu_ps(row, r0);
        _mm256_storeu_ps(row + 8, r1);
    }
}

static void groups(int rounds, int batch) {
    cntx_t *context = bli_gks_query_cntx();
    MicroKernel u = {(sgemm_ukr_ft)bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, context),
                     (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, context),
                     (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, context), context};
    printf("BLIS configuration %s, sgemm micro-kernel %d x %d, prefers rows %d\n", bli_arch_string(bli_arch_query_id()), u.mr,
           u.nr, (int)bli_cntx_l3_nat_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, context));
    const int tile = 64, chunk = 576, blis_tile = 96, stationary_tile[2] = {24, 48};
    const MicroKernel hand = {intrinsics_6x16, 6, 16, context};
    float *x = random_floats((size_t)batch * 4096), *y = random_floats((size_t)batch * 4096), *w = random_floats(4096 * 4096);
    float *reference = random_floats((size_t)batch * 4096), *wpack = random_floats(4096 * 4096);
    float *apack = random_floats((size_t)(blis_tile + 6) * 576);  // a tile of x over the deepest group
    float *xpack = random_floats((size_t)(chunk / 6 + 1) * panel_floats(4096));
    const float one = 1, zero = 0;
    const int flags = LIBXSMM_GEMM_FLAGS('N', 'N');
    for (size_t s = 0; s < sizeof group_shapes / sizeof *group_shapes; s++) {
        const GroupShape g = group_shapes[s];
        const int depth = g.run1 + g.run2, count = g.out / g.rows, h = g.height;
        const double flops = 2.0 * batch * g.out * depth;
        // BLIS's weight panels: group q's rows j..j+NR as k × NR (k-major), from w's row-major group block.
        for (int q = 0; q < count; q++)
            for (int j = 0; j < g.rows; j += u.nr)
                for (int p = 0; p < depth; p++)
                    for (int jj = 0; jj < u.nr; jj++)
                        wpack[(size_t)q * g.rows * depth + (size_t)j * depth + (size_t)p * u.nr + jj] =
                            w[(size_t)q * g.rows * depth + (size_t)(j + jj) * depth + p];
        // Column-major LIBXSMM view: C (h × tile, ldc out) = A (h × k, lda h) · x tile (k × tile, ldb in).
        // Its weights: strip by strip, block by block, h × b column-major (w's rows read as such).
        const libxsmm_blasint lda = h, ldb = g.in, ldc = g.out;
        libxsmm_smmfunction_reducebatch_offs reduce =
            libxsmm_smmdispatch_reducebatch_offs(h, tile, g.block, &lda, &ldb, &ldc, &one, &zero, &flags, NULL);
        unsigned long long blocks = depth / g.block, weight_offsets[64], input_offsets[64];
        Rate rate[7];
        memset(rate, 0, sizeof rate);
        int faster[7] = {0};
        for (int r = -1; r < rounds; r++) {  // round -1 warms up and checks
            double gflops[7];
            for (int v = 0; v < 7; v++) {
                const double start = now();
                // 4, 5: x-stationary tiles of 24 or 48 rows: the tile packed once, every group's
                // weight panels streamed over it.
                // 6: as 4, on the intrinsics micro-kernel.
                const int stationary = v >= 4 ? stationary_tile[v == 5] : 0;
                const MicroKernel *kernel = v == 6 ? &hand : &u;
                for (int t = 0; v >= 4 && t < batch; t += stationary) {
                    const int rows = batch - t < stationary ? batch - t : stationary;
                    pack_x_panels(xpack, x, g.in, t, rows);
                    for (int q = 0; q < count; q++)
                        blis_group_panels(kernel, wpack + (size_t)q * g.rows * depth, xpack, y, &g, t, t, rows, group_first_column(&g, q),
                                          group_second_column(&g, q), q);
                }
                for (int c0 = 0; v < 4 && c0 < batch; c0 += chunk) {
                    const int c1 = c0 + chunk < batch ? c0 + chunk : batch;
                    if (v >= 2) pack_x_panels(xpack, x, g.in, c0, c1 - c0);
                    for (int q = 0; q < count; q++) {
                        const int column1 = group_first_column(&g, q);
                        const int column2 = group_second_column(&g, q);
                        if (v == 1) {
                            for (int t = c0; t < c1; t += blis_tile)
                                blis_group_tile(&u, wpack + (size_t)q * g.rows * depth, apack, x, y, &g, t,
                                                c1 - t < blis_tile ? c1 - t : blis_tile, column1, column2, q);
                            continue;
                        }
                        if (v >= 2) {
                            const int sub = v == 2 ? blis_tile : chunk;
                            for (int t = c0; t < c1; t += sub)
                                blis_group_panels(&u, wpack + (size_t)q * g.rows * depth, xpack, y, &g, c0, t,
                                                  c1 - t < sub ? c1 - t : sub, column1, column2, q);
                            continue;
                        }
                        const float *weights = w + (size_t)q * g.rows * depth;
                        for (unsigned long long i = 0; i < blocks; i++) {
                            const int in_first = (int)i < g.run1 / g.block;
                            const int j = in_first ? (int)i : (int)i - g.run1 / g.block;
                            weight_offsets[i] = i * g.block * h * sizeof(float);
                            input_offsets[i] = (unsigned long long)((in_first ? column1 : column2) + j * g.block) * sizeof(float);
                        }
                        for (int t = c0; t < c1; t += tile)
                            for (int strip = 0; strip < g.rows; strip += h)
                                reduce(weights + (size_t)strip * depth, x + (size_t)t * g.in,
                                       y + (size_t)t * g.out + q * g.rows + strip, &blocks, weight_offsets, input_offsets);
                    }
                }
                gflops[v] = flops / (now() - start) / 1e9;
                if (r >= 0) record(&rate[v], gflops[v]);
                if (r < 0 && v > 0) {
                    // BLIS's y against OpenBLAS's group GEMMs on the same weights (row-major group blocks).
                    for (int q = 0; q < count; q++) {
                        const int column1 = group_first_column(&g, q);
                        const int column2 = group_second_column(&g, q);
                        const float *weights = w + (size_t)q * g.rows * depth;
                        // W's group block is rows × depth; the runs are its first run1 and last run2 columns.
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g.rows, g.run1, 1, x + column1, g.in, weights,
                                    depth, 0, reference + q * g.rows, g.out);
                        if (g.run2)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g.rows, g.run2, 1, x + column2, g.in,
                                        weights + g.run1, depth, 1, reference + q * g.rows, g.out);
                    }
                    double worst = 0;
                    for (size_t i = 0; i < (size_t)batch * g.out; i++) worst = fmax(worst, fabs(y[i] - reference[i]));
                    if (worst > 1e-3) {
                        fprintf(stderr, "%s: BLIS variant %d differs from OpenBLAS by %g\n", g.name, v, worst);
                        exit(1);
                    }
                }
            }
            if (r < 0) continue;
            for (int v = 1; v < 7; v++) faster[v] += gflops[v] > gflops[0];
        }
        printf("%-30s batch %d, N %3d, K %3d+%3d: LIBXSMM %d-row brgemm %5.1f (%5.1f)  BLIS %dx%d: x per tile and group %5.1f (%5.1f)"
               "  x per chunk, %d-row tiles %5.1f (%5.1f)  x per chunk, %d-row tiles %5.1f (%5.1f)"
               "  x-stationary %d rows %5.1f (%5.1f), %d rows %5.1f (%5.1f), intrinsics %5.1f (%5.1f) GFLOP/s;"
               " faster than LIBXSMM %d, %d, %d, %d, %d, %d of %d\n",
               g.name, batch, g.rows, g.run1, g.run2, h, rate[0].sum / rounds, rate[0].best, u.mr, u.nr, rate[1].sum / rounds,
               rate[1].best, blis_tile, rate[2].sum / rounds, rate[2].best, chunk, rate[3].sum / rounds, rate[3].best,
               stationary_tile[0], rate[4].sum / rounds, rate[4].best, stationary_tile[1], rate[5].sum / rounds, rate[5].best,
               rate[6].sum / rounds, rate[6].best, faster[1], faster[2], faster[3], faster[4], faster[5], faster[6], rounds);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "dense") && strcmp(argv[1], "groups"))) {
        fprintf(stderr, "usage: %s dense [ROUNDS] | groups [ROUNDS [BATCH]]\n", argv[0]);
        return 1;
    }
    openblas_set_num_threads(1);
    bli_thread_set_num_threads(1);
    libxsmm_init();
    printf("OpenBLAS core %s, BLIS configuration %s\n", openblas_get_corename(), bli_arch_string(bli_arch_query_id()));
    const int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (!strcmp(argv[1], "dense"))
        dense(rounds);
    else
        groups(rounds, argc > 3 ? atoi(argv[3]) : 1024);
    return 0;
}
