// The weight gradient's A operand on LIBXSMM, read in place or copied
// (notebooks-md/kernel-passes/09-first-intel-xeon.md):
// C (m × n, ldc = ldx) += A (m × k) · B (k × n), A = the x columns of a tile.
// Per chunk of k batch rows and column tile of m columns, `uses` kernel calls (different row tiles).
// mode 0: A read in place (lda = ldx, x's row stride; ldx 3088 or 4112 = a padded copy, copy not timed);
// mode 1: A copied per column tile into a contiguous m × k block (lda = m), the copy timed.
//
//   gcc -O2 scripts/weight-gradient-stride-experiment.c -o /tmp/wgs -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   for ldx in 768 3072 4096; do for mode in 0 1; do /tmp/wgs 48 48 256 $ldx $mode 3; done; done
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int m=atoi(argv[1]), n=atoi(argv[2]), k=atoi(argv[3]), ldx=atoi(argv[4]), mode=atoi(argv[5]), uses=atoi(argv[6]); int batch=1024;
  float *x=aligned_alloc(64,(size_t)batch*ldx*4), *bt=aligned_alloc(64,(size_t)k*n*uses*4), *c=aligned_alloc(64,(size_t)ldx*n*uses*4), *pk=aligned_alloc(64,(size_t)k*m*4);
  for(size_t i=0;i<(size_t)batch*ldx;i++)x[i]=(i%7)*0.1f;
  for(int i=0;i<k*n*uses;i++)bt[i]=0.01f*(i%5);
  memset(c,0,(size_t)ldx*n*uses*4);
  float alpha=1,beta=1; int flags=LIBXSMM_GEMM_FLAGS('N','N'); int ldb=k, ldc=ldx; int lda=mode?m:ldx;
  libxsmm_smmfunction f=libxsmm_smmdispatch(m,n,k,&lda,&ldb,&ldc,&alpha,&beta,&flags,NULL);
  double best=1e9; long calls=0;
  for(int rep=0;rep<9;rep++){double t0=now(); calls=0;
    for(int start=0;start+k<=batch;start+=k) for(int col=0;col+m<=ldx;col+=m){
      const float*a=x+(size_t)start*ldx+col;
      if(mode){ for(int r=0;r<k;r++) memcpy(pk+(size_t)r*m, a+(size_t)r*ldx, m*4); a=pk; }
      for(int u=0;u<uses;u++){ f(a, bt+(size_t)u*k*n, c+(size_t)u*ldx*n+col); calls++; } }
    double t=now()-t0; if(t<best)best=t;}
  printf("mode %d uses %d m%d n%d k%d ldx%d: %.1f GFLOP/s\n",mode,uses,m,n,k,ldx,2.0*m*n*k*calls/best*1e-9);
  return 0;}
