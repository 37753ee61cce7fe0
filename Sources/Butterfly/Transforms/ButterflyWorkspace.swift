/// Scratch memory for butterfly products, reused across calls so that the steady state
/// allocates nothing.
///
/// Holds one chunk of W vectors in the split work layout (64-byte aligned, so SIMD loads are
/// aligned) and, for training, the input of every factor of every chunk of the last forward.
/// Not thread-safe: one workspace per thread.
public final class ButterflyWorkspace {
    private(set) var work: UnsafeMutableRawPointer
    private(set) var workBytes: Int
    private(set) var saved: UnsafeMutableRawPointer
    private(set) var savedBytes: Int
    /// Shape of the activations saved by the last training forward (checked by the backward).
    var savedKey: SavedKey?

    struct SavedKey: Equatable {
        var layout: ButterflyLayout
        var batch: Int
        var scalarBytes: Int
    }

    public init() {
        work = .allocate(byteCount: 64, alignment: 64)
        workBytes = 64
        saved = .allocate(byteCount: 64, alignment: 64)
        savedBytes = 64
    }

    deinit {
        work.deallocate()
        saved.deallocate()
    }

    /// Grows the chunk buffer to at least `bytes`.
    func reserveWork(_ bytes: Int) {
        guard bytes > workBytes else { return }
        work.deallocate()
        work = .allocate(byteCount: bytes, alignment: 64)
        workBytes = bytes
    }

    /// Grows the activation buffer to at least `bytes`.
    func reserveSaved(_ bytes: Int) {
        guard bytes > savedBytes else { return }
        saved.deallocate()
        saved = .allocate(byteCount: bytes, alignment: 64)
        savedBytes = bytes
    }
}
