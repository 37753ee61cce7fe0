import Butterfly
import PixelflyCore

// Before anything touches BLAS timing: restart on OpenBLAS's fast kernels if it picked slow
// generic ones (see KernelSelection). This may re-execute the process.
KernelSelection.ensureFastKernels()
// Under an AVX2 OpenBLAS family on an AVX-512 CPU, LIBXSMM generates AVX2 code as well, so the
// block-sparse products run what an AVX2-only CPU runs (BlockSparseBackend.preferred).
BlockSparseBackend.matchLIBXSMMToOpenBLAS()
PixelflyBench.main()
