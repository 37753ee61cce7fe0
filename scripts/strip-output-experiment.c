// Forward strips of 768 → 3072 on LIBXSMM with the output written in place or through a contiguous
// tile (notebooks-md/kernel-passes/09-first-intel-xeon.md, tried and dropped). Strips of h rows,
// 3 blocks of b = 48 each, batch 1024 in tiles of 64, optionally followed by a k = rank + 1 β = 1
// product.
// mode 0: output in place (ldc = out); mode 1: into a contiguous h × 64 tile, then copied to y.
//
//   gcc -O2 scripts/strip-output-experiment.c -o /tmp/strip -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   for mode in 0 1; do /tmp/strip $mode 768 3072 96 0; /tmp/strip $mode 768 3072 96 32; done
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int mode=atoi(argv[1]); int in=atoi(argv[2]), out=atoi(argv[3]); int h=atoi(argv[4]); int rank=atoi(argv[5]);
  int batch=1024, b=48, tile=64, blocks=3, strips=out/h;
  float *x=aligned_alloc(64,(size_t)batch*in*4), *y=aligned_alloc(64,(size_t)batch*out*4), *w=aligned_alloc(64,(size_t)strips*h*b*blocks*4);
  float *hid=aligned_alloc(64,(size_t)batch*(rank+1)*4), *u=aligned_alloc(64,(size_t)out*(rank+1)*4), *t=aligned_alloc(64,(size_t)h*tile*4);
  for(size_t i=0;i<(size_t)batch*in;i++)x[i]=(i%7)*0.1f;
  for(size_t i=0;i<(size_t)strips*h*b*blocks;i++)w[i]=0.01f*(i%5);
  for(size_t i=0;i<(size_t)batch*(rank+1);i++)hid[i]=0.1f;
  for(size_t i=0;i<(size_t)out*(rank+1);i++)u[i]=0.1f;
  libxsmm_blasint lda=h, ldb=in, ldc=mode?h:out, k=b; float one=1,zero=0; int fl=0, pf=0;
  libxsmm_smmfunction_reducebatch_offs br=libxsmm_smmdispatch_reducebatch_offs(h,tile,k,&lda,&ldb,&ldc,&one,&zero,&fl,&pf);
  libxsmm_blasint kr=rank+1, ldh=rank+1;
  libxsmm_smmfunction lr=rank?libxsmm_smmdispatch(h,tile,kr,&lda,&ldh,&ldc,&one,&one,&fl,&pf):0;
  unsigned long long aoff[3], boff[3], cnt=blocks;
  double best=1e9;
  for(int rep=0;rep<9;rep++){ double t0=now();
    for(int r0=0;r0<batch;r0+=tile) for(int s=0;s<strips;s++){
      for(int j=0;j<blocks;j++){ aoff[j]=(unsigned long long)j*h*b*4; boff[j]=(unsigned long long)(((s*5+j*7)%(in/b))*b)*4; }
      const float*A=w+(size_t)s*h*b*blocks; const float*B=x+(size_t)r0*in;
      float*C=mode?t:y+(size_t)r0*out+(size_t)s*h;
      br(A,B,C,&cnt,aoff,boff);
      if(lr) lr(u+(size_t)s*h*(rank+1), hid+(size_t)r0*(rank+1), C);
      if(mode) for(int c=0;c<tile;c++) memcpy(y+(size_t)(r0+c)*out+(size_t)s*h, t+(size_t)c*h, h*4);
    }
    double dt=now()-t0; if(dt<best)best=dt; }
  double fl_=2.0*batch*out*(double)b*blocks; if(rank) fl_+=2.0*batch*out*(rank+1);
  printf("mode %d in %d out %d h %d rank %d: %.2f ms, %.1f GFLOP/s\n",mode,in,out,h,rank,best*1e3,fl_/best*1e-9);
  return 0;}
