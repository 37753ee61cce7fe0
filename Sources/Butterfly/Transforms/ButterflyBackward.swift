/// The backward pass of y = B·P·x (P an optional input gather), from the activations that a
/// `save` forward kept in the workspace.
///
/// Per factor, with upstream gradient g = ∂L/∂y (complex: ∂L/∂Re + i·∂L/∂Im) and the factor's
/// saved input x, for y₀ = a·x₀ + b·x₁, y₁ = c·x₀ + d·x₁:
///   ∂L/∂a = Σ_batch g₀·x̄₀,  ∂L/∂b = Σ g₀·x̄₁,  ∂L/∂c = Σ g₁·x̄₀,  ∂L/∂d = Σ g₁·x̄₁,
///   ∂L/∂x₀ = ā·g₀ + c̄·g₁,   ∂L/∂x₁ = b̄·g₀ + d̄·g₁   (no conjugates for real twiddles).
/// Shared twiddles sum these over the diagonal blocks. Twiddle gradients are accumulated;
/// the input gradient is overwritten (real part only if the input was real).
func butterflyBackward<V: ButterflyVector>(
    _: V.Type, layout: ButterflyLayout, twiddles: UnsafePointer<V.Scalar>,
    outputGradient: UnsafePointer<V.Scalar>, inputGradient: UnsafeMutablePointer<V.Scalar>,
    twiddleGradient: UnsafeMutablePointer<V.Scalar>, batch: Int,
    mapping: ChunkMapping<V.Scalar>, workspace: ButterflyWorkspace
) {
    typealias S = V.Scalar
    let width = V.scalarCount, n = layout.n
    let complexWork = layout.field == .complex
    let planeCount = n * width
    let chunkScalars = planeCount * (complexWork ? 2 : 1)
    let chunks = (batch + width - 1) / width
    let re = workspace.work.bindMemory(to: S.self, capacity: chunkScalars)
    let im = re + planeCount
    let gr = UnsafeMutableRawPointer(re).assumingMemoryBound(to: V.self)
    let gi = UnsafeMutableRawPointer(im).assumingMemoryBound(to: V.self)
    let saved = workspace.saved.bindMemory(to: S.self, capacity: chunks * layout.factorCount * chunkScalars)
    let shared = layout.sharing == .perStride
    let k = layout.field.scalarsPerTwiddle
    let realOutput = !complexWork || mapping.realInput

    for chunk in 0..<chunks {
        let row0 = chunk * width, lanes = min(width, batch - row0)
        // Unused lanes are zero in g, so they add nothing to the twiddle gradients.
        gatherChunk(outputGradient, row0: row0, lanes: lanes, width: width, n: n, complexWork: complexWork,
                    realInput: !complexWork, permutation: nil, re: re, im: im)
        for f in stride(from: layout.factorCount - 1, through: 0, by: -1) {
            let xr = UnsafeMutableRawPointer(saved + (chunk * layout.factorCount + f) * chunkScalars)
                .assumingMemoryBound(to: V.self)
            let xi = xr + n
            let s = layout.strides[f]
            let tw = twiddles + layout.offsets[f]
            let dtw = twiddleGradient + layout.offsets[f]
            var base = 0
            while base < n {
                for t in 0..<s {
                    let p = (shared ? t : base / 2 + t) * k
                    let i0 = base + t, i1 = i0 + s
                    if complexWork {
                        complexPairBackward(tw + p, dtw + p, g0r: &gr[i0], g0i: &gi[i0], g1r: &gr[i1], g1i: &gi[i1],
                                            x0r: xr[i0], x0i: xi[i0], x1r: xr[i1], x1i: xi[i1])
                    } else {
                        realPairBackward(tw + p, dtw + p, g0: &gr[i0], g1: &gr[i1], x0: xr[i0], x1: xr[i1])
                    }
                }
                base += 2 * s
            }
        }
        // Undo the input gather: x[p[i]] contributed to element i.
        let rowStride = realOutput ? n : 2 * n
        for l in 0..<lanes {
            let row = inputGradient + (row0 + l) * rowStride
            for i in 0..<n {
                let target = mapping.inputPermutation?[i] ?? i
                if realOutput {
                    row[target] = re[i * width + l]
                } else {
                    row[2 * target] = re[i * width + l]
                    row[2 * target + 1] = im[i * width + l]
                }
            }
        }
    }
}

@inline(__always)
func complexPairBackward<V: ButterflyVector>(
    _ tw: UnsafePointer<V.Scalar>, _ dtw: UnsafeMutablePointer<V.Scalar>,
    g0r: inout V, g0i: inout V, g1r: inout V, g1i: inout V, x0r: V, x0i: V, x1r: V, x1i: V
) {
    // g·x̄ = (g_r x_r + g_i x_i) + i (g_i x_r − g_r x_i)
    dtw[0] += (g0r * x0r + g0i * x0i).sum(); dtw[1] += (g0i * x0r - g0r * x0i).sum()
    dtw[2] += (g0r * x1r + g0i * x1i).sum(); dtw[3] += (g0i * x1r - g0r * x1i).sum()
    dtw[4] += (g1r * x0r + g1i * x0i).sum(); dtw[5] += (g1i * x0r - g1r * x0i).sum()
    dtw[6] += (g1r * x1r + g1i * x1i).sum(); dtw[7] += (g1i * x1r - g1r * x1i).sum()
    // w̄·g = (w_r g_r + w_i g_i) + i (w_r g_i − w_i g_r)
    let ar = V(repeating: tw[0]), ai = V(repeating: tw[1]), br = V(repeating: tw[2]), bi = V(repeating: tw[3])
    let cr = V(repeating: tw[4]), ci = V(repeating: tw[5]), dr = V(repeating: tw[6]), di = V(repeating: tw[7])
    let dx0r = ar * g0r + ai * g0i + (cr * g1r + ci * g1i)
    let dx0i = ar * g0i - ai * g0r + (cr * g1i - ci * g1r)
    let dx1r = br * g0r + bi * g0i + (dr * g1r + di * g1i)
    let dx1i = br * g0i - bi * g0r + (dr * g1i - di * g1r)
    g0r = dx0r; g0i = dx0i; g1r = dx1r; g1i = dx1i
}

@inline(__always)
func realPairBackward<V: ButterflyVector>(
    _ tw: UnsafePointer<V.Scalar>, _ dtw: UnsafeMutablePointer<V.Scalar>,
    g0: inout V, g1: inout V, x0: V, x1: V
) {
    dtw[0] += (g0 * x0).sum(); dtw[1] += (g0 * x1).sum()
    dtw[2] += (g1 * x0).sum(); dtw[3] += (g1 * x1).sum()
    let dx0 = V(repeating: tw[0]) * g0 + V(repeating: tw[2]) * g1
    let dx1 = V(repeating: tw[1]) * g0 + V(repeating: tw[3]) * g1
    g0 = dx0; g1 = dx1
}
