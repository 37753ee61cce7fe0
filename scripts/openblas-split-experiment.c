/* The measurement behind ComputeThreads (notebooks-md/threads-and-step-time.md, section 1).
 *
 * For the MLP block's product shapes, best of 15 in GFLOP/s: OpenBLAS on 1 thread, OpenBLAS on
 * 2 threads, and C split into two row bands computed by two single-threaded calls on two pthreads.
 *
 *   cc -O2 scripts/openblas-split-experiment.c -o /tmp/split \
 *      -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lpthread
 *   /tmp/split                              # split measured while OpenBLAS's worker spins
 *   OPENBLAS_NUM_THREADS=1 /tmp/split quiet # split with no OpenBLAS worker (2-thread column 0)
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { int ta, tb, m, n, k; float *a, *b, *c; int lda, ldb, ldc; } Product;

static void run(Product *g) {
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                g->m, g->n, g->k, 1, g->a, g->lda, g->b, g->ldb, 0, g->c, g->ldc);
}

static void *thread_main(void *p) { run((Product *)p); return 0; }

int main(int argc, char **argv) {
    int quiet = argc > 1 && strcmp(argv[1], "quiet") == 0; /* never run OpenBLAS with 2 threads */
    int shapes[][5] = {{0, 0, 1024, 2048, 512}, {0, 0, 1024, 512, 2048}, {0, 1, 1024, 512, 2048},
                       {1, 0, 512, 2048, 1024}, {1, 0, 2048, 512, 1024}};
    for (int s = 0; s < 5; s++) {
        int ta = shapes[s][0], tb = shapes[s][1], m = shapes[s][2], n = shapes[s][3], k = shapes[s][4];
        float *a = malloc(4L * m * k), *b = malloc(4L * k * n), *c = malloc(4L * m * n);
        for (long i = 0; i < (long)m * k; i++) a[i] = i % 7 * 0.1f;
        for (long i = 0; i < (long)k * n; i++) b[i] = i % 5 * 0.1f;
        int lda = ta ? m : k, ldb = tb ? k : n;
        Product g = {ta, tb, m, n, k, a, b, c, lda, ldb, n};
        double best1 = 1e9, best2 = 1e9, best_split = 1e9, t;
        for (int r = 0; r < 15; r++) {
            if (!quiet) {
                openblas_set_num_threads(2);
                t = now(); run(&g); t = now() - t; if (t < best2) best2 = t;
            }
            openblas_set_num_threads(1);
            t = now(); run(&g); t = now() - t; if (t < best1) best1 = t;
            Product half[2];
            for (int i = 0; i < 2; i++) {
                int r0 = i * m / 2, r1 = (i + 1) * m / 2;
                half[i] = g;
                half[i].m = r1 - r0;
                half[i].a = ta ? a + r0 : a + (long)r0 * lda;
                half[i].c = c + (long)r0 * n;
            }
            t = now();
            pthread_t worker;
            pthread_create(&worker, 0, thread_main, &half[1]);
            run(&half[0]);
            pthread_join(worker, 0);
            t = now() - t; if (t < best_split) best_split = t;
        }
        double flops = 2.0 * m * n * k;
        printf("%s·%s %dx%dx%d: 1 thread %.1f, OpenBLAS 2 threads %.1f, split %.1f GFLOP/s\n",
               ta ? "Aᵀ" : "A", tb ? "Bᵀ" : "B", m, n, k, flops / best1 / 1e9,
               quiet ? 0.0 : flops / best2 / 1e9, flops / best_split / 1e9);
        free(a); free(b); free(c);
    }
    return 0;
}
