// The channel MLP's hidden activation a = gelu(h) (batch 1024 × 3072, b = 48) row-major against
// block-column order (`BlockColumnOrder` of the fiftieth pass, taken out again), one thread,
// the library's loop order (chunks of 512 rows, strip groups of a quarter of L2, 64-row tiles):
//   L1 fwd   768 → 3072 strips (3 blocks each) writing a with ldc = 3072, or one 64 × 48 block
//            column at a time (ldc = 48)
//   L2 fwd   3072 → 768 strips (12 blocks each) reading a with ldb = 3072, or block columns (ldb = 48)
//   L2 dW    the weight gradient's 48 × 48 × 256 tiles (192 kept blocks) per 256-row chunk: on a
//            chunk copy of a made block column by block column (`packInputChunk`), or on a in
//            block-column order in place (no copy)
// Prints mean and best ms (GFLOP/s) of each phase over the rounds; `flush` 1 writes 64 MB
// between rounds. Results in notebooks-md/kernel-passes/50-block-column-hidden.md.
//
//   gcc -O2 scripts/block-column-hidden-experiment.c -o /tmp/block-column-hidden -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   /tmp/block-column-hidden 20 0; /tmp/block-column-hidden 20 1
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
enum {BATCH=1024, IN=768, HID=3072, B=48, TILE=64, CHUNK=512, NB1=3, NB2=12, WGCHUNK=256};
static float *buf(size_t n){float*p=aligned_alloc(64,n*4);for(size_t i=0;i<n;i++)p[i]=(float)((i*2654435761u)%1000)/1000.f-0.5f;return p;}
int main(int argc,char**argv){
  int rounds=argc>1?atoi(argv[1]):10; int flush=argc>2?atoi(argv[2]):0;
  float *x=buf((size_t)BATCH*IN), *h=buf((size_t)BATCH*HID), *y=buf((size_t)BATCH*IN);
  float *w1=buf((size_t)HID*B*NB1), *w2=buf((size_t)IN*B*NB2), *dw2=buf((size_t)IN*B*NB2), *dyt=buf((size_t)WGCHUNK*IN);
  float *pack=buf((size_t)WGCHUNK*HID); char*junk=malloc(64<<20);
  float one=1,zero=0; int fl=0,pf=0;
  libxsmm_blasint m=B,n=TILE,k=B,lda=B,ldbx=IN,ldc_row=HID,ldc_blk=B,ldb_row=HID,ldb_blk=B,ldy=IN;
  libxsmm_smmfunction_reducebatch_offs f1row=libxsmm_smmdispatch_reducebatch_offs(m,n,k,&lda,&ldbx,&ldc_row,&one,&zero,&fl,&pf);
  libxsmm_smmfunction_reducebatch_offs f1blk=libxsmm_smmdispatch_reducebatch_offs(m,n,k,&lda,&ldbx,&ldc_blk,&one,&zero,&fl,&pf);
  libxsmm_smmfunction_reducebatch_offs f2row=libxsmm_smmdispatch_reducebatch_offs(m,n,k,&lda,&ldb_row,&ldy,&one,&zero,&fl,&pf);
  libxsmm_smmfunction_reducebatch_offs f2blk=libxsmm_smmdispatch_reducebatch_offs(m,n,k,&lda,&ldb_blk,&ldy,&one,&zero,&fl,&pf);
  libxsmm_blasint wm=B,wn=B,wk=WGCHUNK,wlda=B,wldb=WGCHUNK,wldc=B*NB2;
  libxsmm_smmfunction fw=libxsmm_smmdispatch(wm,wn,wk,&wlda,&wldb,&wldc,&one,&one,&fl,&pf);
  unsigned long long ao[NB2], bo[NB2], cnt;
  double t[2][3]={{0}}, best[2][3]; for(int a=0;a<2;a++)for(int p=0;p<3;p++)best[a][p]=1e9;
  for(int r=-1;r<rounds;r++) for(int blk=0;blk<2;blk++){
    double ph[3];
    if(flush) memset(junk,r,64<<20);
    // A: layer 1 forward, 64 strips of 3 blocks, groups of 18 strips, chunks of 512 rows
    double t0=now();
    for(int c0=0;c0<BATCH;c0+=CHUNK) for(int g0=0;g0<HID/B;g0+=18) for(int r0=c0;r0<c0+CHUNK;r0+=TILE)
      for(int s=g0;s<g0+18&&s<HID/B;s++){
        for(int j=0;j<NB1;j++){ao[j]=(unsigned long long)(s*NB1+j)*B*B*4; bo[j]=(unsigned long long)(((s/4)%16*1+j*5)%16*B)*4;}
        cnt=NB1; const float*A=w1,*Bp=x+(size_t)r0*IN;
        if(blk) f1blk(A,Bp,h+(size_t)s*BATCH*B+(size_t)r0*B,&cnt,ao,bo);
        else f1row(A,Bp,h+(size_t)r0*HID+(size_t)s*B,&cnt,ao,bo);
      }
    ph[0]=now()-t0; t0=now();
    // B: layer 2 forward, 16 strips of 12 blocks, groups of 4
    for(int c0=0;c0<BATCH;c0+=CHUNK) for(int g0=0;g0<IN/B;g0+=4) for(int r0=c0;r0<c0+CHUNK;r0+=TILE)
      for(int s=g0;s<g0+4;s++){
        for(int j=0;j<NB2;j++){int col=(s*4+j*5+(j/4)*17)%64; ao[j]=(unsigned long long)(s*NB2+j)*B*B*4;
          bo[j]=blk?(unsigned long long)col*BATCH*B*4:(unsigned long long)col*B*4;}
        cnt=NB2;
        if(blk) f2blk(w2,h+(size_t)r0*B,y+(size_t)r0*IN+(size_t)s*B,&cnt,ao,bo);
        else f2row(w2,h+(size_t)r0*HID,y+(size_t)r0*IN+(size_t)s*B,&cnt,ao,bo);
      }
    ph[1]=now()-t0; t0=now();
    // C: layer 2 weight gradient: per chunk of 256 rows, (row-major) copy x's block columns, then 192 tiles
    for(int c0=0;c0<BATCH;c0+=WGCHUNK){
      if(!blk) for(int col=0;col<HID/B;col++) for(int rr=0;rr<WGCHUNK;rr++)
        memcpy(pack+(size_t)col*WGCHUNK*B+(size_t)rr*B,h+(size_t)(c0+rr)*HID+(size_t)col*B,B*4);
      for(int i=0;i<IN/B;i++) for(int j=0;j<NB2;j++){int col=(i*4+j*5+(j/4)*17)%64;
        const float*A=blk?h+(size_t)col*BATCH*B+(size_t)c0*B:pack+(size_t)col*WGCHUNK*B;
        fw(A,dyt+(size_t)i*B*WGCHUNK%((size_t)WGCHUNK*IN),dw2+(size_t)i*B*B*NB2+(size_t)j*B);}
    }
    ph[2]=now()-t0;
    if(r>=0) for(int p=0;p<3;p++){t[blk][p]+=ph[p]; if(ph[p]<best[blk][p])best[blk][p]=ph[p];}
  }
  const char*nm[3]={"L1 fwd (C ld)","L2 fwd (B ld)","L2 dW (+copy)"};
  double fls[3]={2.0*BATCH*HID*B*NB1,2.0*BATCH*IN*B*NB2,2.0*BATCH*IN*B*NB2};
  for(int p=0;p<3;p++) printf("%-14s row-major %.3f ms (best %.3f, %.0f GF/s)  blocked %.3f ms (best %.3f, %.0f GF/s)\n",nm[p],
    t[0][p]/rounds*1e3,best[0][p]*1e3,fls[p]/best[0][p]*1e-9,t[1][p]/rounds*1e3,best[1][p]*1e3,fls[p]/best[1][p]*1e-9);
  return 0;}
