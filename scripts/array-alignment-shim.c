// Does it matter where on a cache line a Swift array's elements start? An LD_PRELOAD shim for
// `pixelfly-bench` (notebooks-md/kernel-passes/36-aligned-arrays-and-streaming-stores.md: it did
// not; the rows moved by +0.2 % on the mean). Not part of the build.
//
// A Swift array's elements sit 32 bytes past the start of its heap object. glibc returns 16-byte
// aligned blocks: a large array's elements start 48 bytes past a 64-byte line when glibc maps the
// block with mmap, and 0, 16, 32 or 48 bytes past one on the heap. The shim serves every malloc
// (and posix_memalign with an alignment of at most 16) of ALIGNSHIM_MIN bytes or more (default
// 256 KiB: every activation, gradient and weight matrix of the `layers` shapes) from its own
// mmap, at an address that puts those elements ALIGNSHIM_OFFSET bytes past a line (default 0).
// Both arms of an A/B run under the shim, so they allocate the same way and differ only in the
// offset. Its own blocks are kept in a hash table; everything else goes to glibc.
//
//   gcc -O2 -shared -fPIC scripts/array-alignment-shim.c -o /tmp/alignshim.so -ldl
//   LD_PRELOAD=/tmp/alignshim.so ALIGNSHIM_OFFSET=0  .build/release/pixelfly-bench layers ...
//   LD_PRELOAD=/tmp/alignshim.so ALIGNSHIM_OFFSET=48 .build/release/pixelfly-bench layers ...
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLOTS 16384 /* a power of two, far above the number of large blocks alive at once */
struct block { void *user; void *base; size_t mapped; size_t usable; };
static struct block table[SLOTS]; /* open addressing; a freed slot keeps base = 1 (a tombstone) */
static atomic_flag lock = ATOMIC_FLAG_INIT;
static _Atomic long live;
static size_t offset, minimum = 256 * 1024;
static void *(*glibc_malloc)(size_t);
static void (*glibc_free)(void *);
static void *(*glibc_realloc)(void *, size_t);
static size_t (*glibc_usable)(void *);
static int (*glibc_memalign)(void **, size_t, size_t);

static void initialise(void) {
    if (glibc_malloc) return;
    glibc_free = dlsym(RTLD_NEXT, "free");
    glibc_realloc = dlsym(RTLD_NEXT, "realloc");
    glibc_usable = dlsym(RTLD_NEXT, "malloc_usable_size");
    glibc_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    const char *o = getenv("ALIGNSHIM_OFFSET"), *m = getenv("ALIGNSHIM_MIN");
    if (o) offset = (size_t)atol(o) % 64;
    if (m) minimum = (size_t)atol(m);
    glibc_malloc = dlsym(RTLD_NEXT, "malloc");
}

static size_t slot(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 11400714819323198485ull >> 50) & (SLOTS - 1); }
static void acquire(void) { while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {} }
static void release(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }

/* The table entry of one of our blocks, or NULL (lock held). */
static struct block *find(const void *p) {
    for (size_t i = slot(p), n = 0; n < SLOTS; i = (i + 1) & (SLOTS - 1), n++) {
        if (table[i].user == p) return &table[i];
        if (table[i].user == NULL && table[i].base == NULL) return NULL;
    }
    return NULL;
}

/* A block whose byte 32 (a Swift array's first element) is `offset` bytes past a 64-byte line. */
static void *allocate(size_t size) {
    size_t mapped = (size + 8192 + 4095) & ~(size_t)4095;
    char *base = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return NULL;
    char *user = base + 4096 + offset - 32;
    acquire();
    size_t i = slot(user);
    while (table[i].user != NULL) i = (i + 1) & (SLOTS - 1);
    table[i] = (struct block){user, base, mapped, size};
    release();
    atomic_fetch_add(&live, 1);
    return user;
}

/* Removes p's entry if p is ours, and says whether it was. */
static int take(void *p, struct block *taken) {
    if (!p || !atomic_load(&live)) return 0;
    acquire();
    struct block *b = find(p);
    if (b) { *taken = *b; b->user = NULL; b->base = (void *)1; }
    release();
    if (b) atomic_fetch_sub(&live, 1);
    return b != NULL;
}

static size_t usable(void *p) {
    if (!p || !atomic_load(&live)) return 0;
    acquire();
    struct block *b = find(p);
    size_t size = b ? b->usable : 0;
    release();
    return size;
}

void *malloc(size_t size) { initialise(); return size >= minimum ? allocate(size) : glibc_malloc(size); }

void free(void *p) {
    initialise();
    struct block b;
    if (take(p, &b)) munmap(b.base, b.mapped);
    else glibc_free(p);
}

void *realloc(void *p, size_t size) {
    initialise();
    if (!p) return malloc(size);
    size_t old = usable(p);
    if (!old && size < minimum) return glibc_realloc(p, size);
    if (!old) old = glibc_usable(p);
    void *q = malloc(size);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    free(p);
    return q;
}

size_t malloc_usable_size(void *p) { initialise(); size_t size = usable(p); return size ? size : glibc_usable(p); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    initialise();
    if (size >= minimum && alignment <= 16) {
        void *p = allocate(size);
        if (!p) return 12; /* ENOMEM */
        *out = p;
        return 0;
    }
    return glibc_memalign(out, alignment, size);
}
