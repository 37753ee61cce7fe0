#ifndef PIXELFLY_CFFTW_SHIM_H
#define PIXELFLY_CFFTW_SHIM_H
// Single (fftwf_) and double (fftw_) precision FFTW 3 APIs.
#include <fftw3.h>
#endif
