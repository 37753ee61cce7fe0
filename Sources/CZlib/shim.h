#ifndef PIXELFLY_CZLIB_SHIM_H
#define PIXELFLY_CZLIB_SHIM_H
// zlib's gzip reader, used to read the gzip-compressed IDX files of Fashion-MNIST.
#include <zlib.h>
#endif
