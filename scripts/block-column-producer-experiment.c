// A Pixelfly term's producer h = x·Vᵀ (batch 1024, 3072 → r = 32, h's rows 33 wide with the
// folded bias) per 64-row tile, one thread: on row-major x as the library runs it (three depth
// chunks of 1024, plain LIBXSMM kernels, β = 0 then 1), against x in block-column order of
// width `width` (batch-reduce over the block columns, in `runs` calls, or one strided call).
// With b = 48 the batch-reduce ran about 20–25 % slower than the chunks on the Intel Xeon
// (notebooks-md/kernel-passes/50-block-column-hidden.md), which is what took the first form of
// the block-column hidden activation out.
//
//   gcc -O2 scripts/block-column-producer-experiment.c -o /tmp/block-column-producer -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   /tmp/block-column-producer 3
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
enum {BATCH=1024, IN=3072, R=32, W=33, B=48, TILE=64};
int main(int argc, char**argv){
  int runs = argc>1?atoi(argv[1]):3;
  float *x=aligned_alloc(64,(size_t)BATCH*IN*4), *xb=aligned_alloc(64,(size_t)BATCH*IN*4), *f=aligned_alloc(64,(size_t)IN*R*4), *h=aligned_alloc(64,(size_t)BATCH*W*4);
  for(size_t i=0;i<(size_t)BATCH*IN;i++){x[i]=(i%13)*0.01f; xb[i]=x[i];} for(size_t i=0;i<(size_t)IN*R;i++)f[i]=(i%7)*0.01f;
  float one=1, zero=0; int fl=0,pf=0; libxsmm_blasint m=R,n=TILE,kc=IN/3,lda=R,ldb=IN,ldc=W, kb=B, ldbb=B;
  libxsmm_smmfunction g0=libxsmm_smmdispatch(m,n,kc,&lda,&ldb,&ldc,&one,&zero,&fl,&pf), g1=libxsmm_smmdispatch(m,n,kc,&lda,&ldb,&ldc,&one,&one,&fl,&pf);
  libxsmm_smmfunction_reducebatch_offs b0=libxsmm_smmdispatch_reducebatch_offs(m,n,kb,&lda,&ldbb,&ldc,&one,&zero,&fl,&pf), b1=libxsmm_smmdispatch_reducebatch_offs(m,n,kb,&lda,&ldbb,&ldc,&one,&one,&fl,&pf);
  libxsmm_smmfunction_reducebatch_strd s0=libxsmm_smmdispatch_reducebatch_strd(m,n,kb,B*R*4,(libxsmm_blasint)BATCH*B*4,&lda,&ldbb,&ldc,&one,&zero,&fl,&pf);
  unsigned long long ao[64], bo[64]; for(int q=0;q<64;q++){ao[q]=(unsigned long long)q*B*R*4; bo[q]=(unsigned long long)q*BATCH*B*4;}
  int blocks=IN/B, per=(blocks+runs-1)/runs;
  for(int round=0;round<5;round++){
    double t0=now();
    for(int rep=0;rep<20;rep++) for(int t=0;t<BATCH;t+=TILE){ for(int c=0;c<3;c++) (c?g1:g0)(f+(size_t)c*kc*R, x+(size_t)t*IN+c*kc, h+(size_t)t*W); }
    double ta=(now()-t0)/20; t0=now();
    for(int rep=0;rep<20;rep++) for(int t=0;t<BATCH;t+=TILE){ for(int q0=0,c=0;q0<blocks;q0+=per,c++){unsigned long long cnt=(q0+per<=blocks?per:blocks-q0); (c?b1:b0)(f, xb+(size_t)t*B, h+(size_t)t*W, &cnt, ao+q0, bo+q0);} }
    double tb=(now()-t0)/20; t0=now();
    for(int rep=0;rep<20;rep++) for(int t=0;t<BATCH;t+=TILE){ unsigned long long cnt=blocks; s0(f, xb+(size_t)t*B, h+(size_t)t*W, &cnt); }
    double tc=(now()-t0)/20;
    double fl2=2.0*BATCH*IN*R;
    printf("row-major 3 gemm chunks %.3f ms (%.0f GF/s)   blocked brgemm %d runs %.3f ms (%.0f GF/s)   strided brgemm 1 run %.3f ms (%.0f GF/s)\n",ta*1e3,fl2/ta*1e-9,runs,tb*1e3,fl2/tb*1e-9,tc*1e3,fl2/tc*1e-9);
  }
}
