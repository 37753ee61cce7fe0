import PixelflyCore

/// Scratch elements whose first element sits on a 64-byte boundary (a cache line, and the
/// alignment AVX-512 loads want): the LIBXSMM kernels' packed weights and low-rank factors.
///
/// Why not a `Matrix`: a Swift array's elements start 32 bytes into its heap object, and
/// glibc's `malloc` returns 16-byte-aligned blocks, so the packs started at any multiple of 16
/// bytes (measured in one `layers` run on the AMD EPYC Zen 3: 0, 16, 32 and 48 mod 64). A strip
/// kernel loads its packed weights as whole vectors: at 16 or 48 bytes past a line one 32-byte
/// (AVX2) load in two spans two cache lines, and at 16, 32 or 48 every 64-byte (AVX-512) load
/// does. In a C microbenchmark on the AMD EPYC Zen 3 (`scripts/strip-group-experiment.c`,
/// variant 4: LIBXSMM `hsw`, 1 thread, batch 1024, medians of 31 alternated rounds), packs 16 or
/// 48 bytes past a line ran the 3072 → 768 strips at 38–43 GFLOP/s against 48–54 on a line, and
/// 768 → 3072 at 46–47 against 55
/// (notebooks-md/kernel-passes/17-weights-on-cache-lines.md). With AVX-512 on an AMD EPYC Zen 5
/// packs 16 bytes past a line made the layer rows only 0.5 % slower (`Cooperlake`, `cpx`,
/// 96 alternated pairs; notebooks-md/kernel-passes/30-zen5-avx512-current-code.md).
///
/// `resize(to:)` reallocates only when the count changes (the new storage is zeroed), so
/// a layer that keeps its batch size allocates nothing in the steady state. Not thread-safe;
/// the owning layer uses it from one call at a time.
final class AlignedPack<Scalar: TensorScalar> {
    static var alignment: Int { 64 }

    private(set) var count = 0
    private var storage: UnsafeMutablePointer<Scalar>?

    /// The first element (valid after a `resize(to:)` to a positive count).
    var pointer: UnsafeMutablePointer<Scalar> {
        precondition(storage != nil, "AlignedPack read before it was sized")
        return storage!
    }

    init() {}

    /// Makes room for `count` elements (zeroed when the storage is new).
    func resize(to count: Int) {
        guard count != self.count || storage == nil else { return }
        storage?.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Scalar>.stride,
                                                   alignment: Self.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * MemoryLayout<Scalar>.stride)
        storage = raw.bindMemory(to: Scalar.self, capacity: max(1, count))
        self.count = count
    }

    deinit { storage?.deallocate() }
}
