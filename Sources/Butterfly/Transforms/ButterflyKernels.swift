/// The per-pair arithmetic of the forward pass, SIMD across a chunk of W vectors.
///
/// Work layout: element i of the W vectors of a chunk is one SIMD vector (`re[i]`, `im[i]`),
/// so every pair at every stride is a full-width vector operation and the batch, not the
/// signal, is the contiguous dimension. A twiddle is a scalar broadcast to all lanes.

/// y₀ = a·x₀ + b·x₁, y₁ = c·x₀ + d·x₁ for complex (a, b, c, d) stored (re, im) at `tw[0..<8]`.
@inline(__always)
func complexTwiddle<V: ButterflyVector>(_ tw: UnsafePointer<V.Scalar>,
                             _ x0r: inout V, _ x0i: inout V, _ x1r: inout V, _ x1i: inout V)
{
    let ar = V(repeating: tw[0]), ai = V(repeating: tw[1])
    let br = V(repeating: tw[2]), bi = V(repeating: tw[3])
    let cr = V(repeating: tw[4]), ci = V(repeating: tw[5])
    let dr = V(repeating: tw[6]), di = V(repeating: tw[7])
    let y0r = ar * x0r - ai * x0i + (br * x1r - bi * x1i)
    let y0i = ar * x0i + ai * x0r + (br * x1i + bi * x1r)
    let y1r = cr * x0r - ci * x0i + (dr * x1r - di * x1i)
    let y1i = cr * x0i + ci * x0r + (dr * x1i + di * x1r)
    x0r = y0r; x0i = y0i; x1r = y1r; x1i = y1i
}

/// One complex factor of stride s on the aligned element range `lo..<hi`.
@inline(__always)
func complexRadix2<V: ButterflyVector>(re: UnsafeMutablePointer<V>, im: UnsafeMutablePointer<V>, stride s: Int,
                            lo: Int, hi: Int, twiddles: UnsafePointer<V.Scalar>, shared: Bool)
{
    var base = lo
    while base < hi {
        let blockTwiddles = shared ? twiddles : twiddles + (base / 2) * 8
        for t in 0..<s {
            let i0 = base + t, i1 = i0 + s
            var x0r = re[i0], x0i = im[i0], x1r = re[i1], x1i = im[i1]
            complexTwiddle(blockTwiddles + 8 * t, &x0r, &x0i, &x1r, &x1i)
            re[i0] = x0r; im[i0] = x0i; re[i1] = x1r; im[i1] = x1i
        }
        base += 2 * s
    }
}

/// Two complex factors fused: strides (s, 2s) if `smallFirst`, else (2s, s), on four points
/// q_k = base + k·s + t. Pair (block d, offset t) of a stride-σ factor has twiddle d·σ + t
/// (or t if shared); with base = 4s·D the stride-s blocks are 2D, 2D+1 and the stride-2s block is D.
@inline(__always)
func complexRadix4<V: ButterflyVector>(re: UnsafeMutablePointer<V>, im: UnsafeMutablePointer<V>, stride s: Int,
                            smallFirst: Bool, lo: Int, hi: Int,
                            first: UnsafePointer<V.Scalar>, second: UnsafePointer<V.Scalar>, shared: Bool)
{
    let (small, large) = smallFirst ? (first, second) : (second, first)
    var base = lo
    while base < hi {
        // Twiddle pointers at offset t = 0 of: stride-s blocks 2D and 2D+1, stride-2s block D.
        let smallLow = shared ? small : small + (base / 2) * 8
        let smallHigh = shared ? small : smallLow + s * 8
        let largeBlock = shared ? large : large + (base / 2) * 8
        for t in 0..<s {
            let q0 = base + t, q1 = q0 + s, q2 = q1 + s, q3 = q2 + s
            var x0r = re[q0], x0i = im[q0], x1r = re[q1], x1i = im[q1]
            var x2r = re[q2], x2i = im[q2], x3r = re[q3], x3i = im[q3]
            if smallFirst {
                complexTwiddle(smallLow + 8 * t, &x0r, &x0i, &x1r, &x1i)
                complexTwiddle(smallHigh + 8 * t, &x2r, &x2i, &x3r, &x3i)
                complexTwiddle(largeBlock + 8 * t, &x0r, &x0i, &x2r, &x2i)
                complexTwiddle(largeBlock + 8 * (s + t), &x1r, &x1i, &x3r, &x3i)
            } else {
                complexTwiddle(largeBlock + 8 * t, &x0r, &x0i, &x2r, &x2i)
                complexTwiddle(largeBlock + 8 * (s + t), &x1r, &x1i, &x3r, &x3i)
                complexTwiddle(smallLow + 8 * t, &x0r, &x0i, &x1r, &x1i)
                complexTwiddle(smallHigh + 8 * t, &x2r, &x2i, &x3r, &x3i)
            }
            re[q0] = x0r; im[q0] = x0i; re[q1] = x1r; im[q1] = x1i
            re[q2] = x2r; im[q2] = x2i; re[q3] = x3r; im[q3] = x3i
        }
        base += 4 * s
    }
}

/// y₀ = a·x₀ + b·x₁, y₁ = c·x₀ + d·x₁ for real (a, b, c, d) at `tw[0..<4]`.
@inline(__always)
func realTwiddle<V: ButterflyVector>(_ tw: UnsafePointer<V.Scalar>, _ x0: inout V, _ x1: inout V)
{
    let y0 = V(repeating: tw[0]) * x0 + V(repeating: tw[1]) * x1
    let y1 = V(repeating: tw[2]) * x0 + V(repeating: tw[3]) * x1
    x0 = y0; x1 = y1
}

/// One real factor of stride s on the aligned element range `lo..<hi`.
@inline(__always)
func realRadix2<V: ButterflyVector>(x: UnsafeMutablePointer<V>, stride s: Int, lo: Int, hi: Int,
                         twiddles: UnsafePointer<V.Scalar>, shared: Bool)
{
    var base = lo
    while base < hi {
        let blockTwiddles = shared ? twiddles : twiddles + (base / 2) * 4
        for t in 0..<s {
            var x0 = x[base + t], x1 = x[base + s + t]
            realTwiddle(blockTwiddles + 4 * t, &x0, &x1)
            x[base + t] = x0; x[base + s + t] = x1
        }
        base += 2 * s
    }
}

/// Two real factors fused (see `complexRadix4` for the indexing).
@inline(__always)
func realRadix4<V: ButterflyVector>(x: UnsafeMutablePointer<V>, stride s: Int, smallFirst: Bool, lo: Int, hi: Int,
                         first: UnsafePointer<V.Scalar>, second: UnsafePointer<V.Scalar>, shared: Bool)
{
    let (small, large) = smallFirst ? (first, second) : (second, first)
    var base = lo
    while base < hi {
        let smallLow = shared ? small : small + (base / 2) * 4
        let smallHigh = shared ? small : smallLow + s * 4
        let largeBlock = shared ? large : large + (base / 2) * 4
        for t in 0..<s {
            let q0 = base + t, q1 = q0 + s, q2 = q1 + s, q3 = q2 + s
            var x0 = x[q0], x1 = x[q1], x2 = x[q2], x3 = x[q3]
            if smallFirst {
                realTwiddle(smallLow + 4 * t, &x0, &x1)
                realTwiddle(smallHigh + 4 * t, &x2, &x3)
                realTwiddle(largeBlock + 4 * t, &x0, &x2)
                realTwiddle(largeBlock + 4 * (s + t), &x1, &x3)
            } else {
                realTwiddle(largeBlock + 4 * t, &x0, &x2)
                realTwiddle(largeBlock + 4 * (s + t), &x1, &x3)
                realTwiddle(smallLow + 4 * t, &x0, &x1)
                realTwiddle(smallHigh + 4 * t, &x2, &x3)
            }
            x[q0] = x0; x[q1] = x1; x[q2] = x2; x[q3] = x3
        }
        base += 4 * s
    }
}
