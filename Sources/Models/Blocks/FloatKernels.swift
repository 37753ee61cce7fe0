import CVectorKernels
#if canImport(Glibc)
import Glibc
#endif

/// Float bodies of the GELU and softmax kernels (`BlockKernels` calls them when
/// `Scalar == Float`). Same formulas as the generic code: GELU in C (AVX2+FMA where the CPU has
/// it), the softmax exponentials eight lanes at a time with `VectorExp.exp` instead of `expf`.
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

    /// GELU forward and backward run in C (`CVectorKernels`), which has an AVX2+FMA body.
    static func geluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        pixelfly_gelu_forward_f32(x, y, count)
    }

    static func geluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
        pixelfly_gelu_backward_f32(x, dy, dx, count)
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
