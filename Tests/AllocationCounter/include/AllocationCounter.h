#ifndef PIXELFLY_ALLOCATION_COUNTER_H
#define PIXELFLY_ALLOCATION_COUNTER_H

// Counts heap allocations made by the calling thread while counting is on. Per-thread, so
// tests running in parallel do not disturb each other; work that a measured call hands to
// other threads (OpenBLAS workers, Dispatch) is not counted.
//
// The test binary defines malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign
// itself; the dynamic linker resolves every library's calls (Swift runtime, Foundation,
// OpenBLAS) to these definitions, which count and forward to glibc's __libc_* entry points.
// Used to prove that steady-state kernels and training steps allocate nothing.

void allocation_counter_start(void);
/// Stops counting and returns the number of allocation calls since the matching start.
long allocation_counter_stop(void);

#endif
