import PixelflyCore

// Before anything touches BLAS timing: restart on OpenBLAS's fast kernels if it picked slow
// generic ones (see KernelSelection). This may re-execute the process.
KernelSelection.ensureFastKernels()
PixelflyBench.main()
