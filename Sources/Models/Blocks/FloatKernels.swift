#if canImport(Glibc)
import Glibc
#endif

/// Eight-lane Float bodies of the GELU and softmax kernels (`BlockKernels` calls them when
/// `Scalar == Float`). Same formulas as the generic code; `VectorExp.exp` replaces `expf`.
@usableFromInline
enum FloatKernels {
    @usableFromInline static let geluScale = Float(BlockKernels.geluScale)
    @usableFromInline static let geluCubic = Float(BlockKernels.geluCubic)

    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// σ(2u) for u = √(2/π)(x + 0.044715x³). Where e^(−2u) would exceed Float's range the gate
    /// is exactly 0 (the vector exp clamps its input, which would leave x·σ ≈ x/2·10³⁸ ≠ 0 for
    /// huge |x|).
    @inlinable @inline(__always)
    static func geluGate(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let exponent = -2 * geluScale * (v + geluCubic * v * v * v)
        var gate = 1 / (1 + VectorExp.exp(exponent))
        gate.replace(with: 0, where: exponent .> 88)
        return gate
    }

    static func geluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = load(x, i)
            store(v * geluGate(v), y, i)
            i += 8
        }
        for j in i..<count {
            let v = x[j], u = geluScale * (v + geluCubic * v * v * v)
            y[j] = v / (1 + expf(-2 * u))
        }
    }

    static func geluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = load(x, i)
            let s = geluGate(v)
            let du = 2 * geluScale * (1 + 3 * geluCubic * v * v)
            store(load(dy, i) * (s + v * s * (1 - s) * du), dx, i)
            i += 8
        }
        for j in i..<count {
            let v = x[j], u = geluScale * (v + geluCubic * v * v * v)
            let s = 1 / (1 + expf(-2 * u))
            dx[j] = dy[j] * (s + v * s * (1 - s) * 2 * geluScale * (1 + 3 * geluCubic * v * v))
        }
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
