#include "AllocationCounter.h"
#include <stddef.h>
#include <errno.h>
#include <execinfo.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// Per thread, so that tests running in parallel on other threads do not disturb a count.
static _Thread_local int counting;
static _Thread_local long allocations;

// With ALLOCATION_COUNTER_BACKTRACE set in the environment, each counted allocation prints
// its call stack to standard error: the way to find out *which* call allocated when a
// steady-state test fails. backtrace() may itself allocate the first time (it loads libgcc),
// so counting is suspended while it runs.
static void print_backtrace(void) {
    void *frames[48];
    int depth = backtrace(frames, 48);
    static const char header[] = "allocation counter: counted allocation at\n";
    (void)!write(2, header, sizeof header - 1);
    backtrace_symbols_fd(frames, depth, 2);
}

static inline void count_one(void) {
    if (!counting) return;
    allocations++;
    if (getenv("ALLOCATION_COUNTER_BACKTRACE")) {
        counting = 0;
        print_backtrace();
        counting = 1;
    }
}

void allocation_counter_start(void) {
    allocations = 0;
    counting = 1;
}

long allocation_counter_stop(void) {
    counting = 0;
    return allocations;
}

void *malloc(size_t size) { count_one(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { count_one(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { count_one(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    count_one();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}
