# Sourced by the scripts beside it: the OpenBLAS kernel families this CPU can run, in
# `families` (needs bash; x86-64 only — check `uname -m` first).
#
#   Prescott  SSE3 kernels; any x86-64 CPU (OpenBLAS 0.3.21's fallback on CPUs it does not know)
#   Haswell   AVX2+FMA kernels; CPUs with avx2 and fma
#   Zen       AMD's AVX2 kernels (Haswell-class); CPUs with avx2 and fma
#   SkylakeX  AVX-512 kernels; CPUs with avx512f, avx512vl, avx512bw, avx512dq, avx512cd
#   Cooperlake  SkylakeX plus bfloat16 kernels; AVX-512 CPUs with avx512_bf16 (what OpenBLAS
#             0.3.21 picks by itself on an AMD Zen 4/5)

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }

families=(Prescott)
if has avx2 fma; then families+=(Haswell Zen); fi
if has avx512f avx512vl avx512bw avx512dq avx512cd; then families+=(SkylakeX); fi
if has avx512f avx512vl avx512bw avx512dq avx512cd avx512_bf16; then families+=(Cooperlake); fi
