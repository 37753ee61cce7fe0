// Pixelfly is built and tested on Linux (x86-64, glibc) only: it links OpenBLAS, FFTW, LIBXSMM,
// zlib and Open MPI through pkg-config from Debian packages, uses glibc and pthread calls, and its
// C vector kernels are x86-64 code. Rather than fail later on a missing module or header, a build
// elsewhere stops here with the reason (README "Platforms").
#if !os(Linux)
#error("Pixelfly supports Linux (x86-64, glibc) only; see the README section \"Platforms\". On macOS, build and run it in a Linux container or VM (e.g. the swift:6.1 Docker image plus `make setup`).")
#endif
