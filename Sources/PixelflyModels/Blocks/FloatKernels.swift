#if canImport(Glibc)
import Glibc
#endif

/// Float body of the softmax exponentials (`BlockKernels` calls it when `Scalar == Float`):
/// eight lanes at a time with `VectorExp.exp` instead of `expf`. (GELU's Float body is in C,
/// `CVectorKernels`.)
@usableFromInline
enum FloatKernels {
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// row[j] = exp(row[j] − shift) for j < count; returns the sum of the results.
    static func exponentiate(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var total = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let e = VectorExp.exp(load(row, i) - shift)
            store(e, row, i)
            total += e
            i += 8
        }
        var tail: Float = 0
        for j in i..<count {
            row[j] = expf(row[j] - shift)
            tail += row[j]
        }
        return total.sum() + tail
    }
}
