#include "CVectorKernels.h"

/* out[i·stride + j] += bias[j] for i < rows, j < count. Each row piece is contiguous, so the
 * compiler vectorises the inner loop at the baseline ISA; the pass is bound by the cache the
 * rows sit in, not by arithmetic. */

void pixelfly_add_bias_rows_f32(float *restrict out, const float *restrict bias, size_t rows, size_t count, size_t stride) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict row = out + i * stride;
        for (size_t j = 0; j < count; j++) row[j] += bias[j];
    }
}

void pixelfly_add_bias_rows_f64(double *restrict out, const double *restrict bias, size_t rows, size_t count, size_t stride) {
    for (size_t i = 0; i < rows; i++) {
        double *restrict row = out + i * stride;
        for (size_t j = 0; j < count; j++) row[j] += bias[j];
    }
}
