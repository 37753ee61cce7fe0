/// The forward pass y = B·x for a batch of rows, chunk by chunk (SIMD across W vectors).
///
/// Cost per vector: one transpose in, ⌈L/2⌉ radix-4 passes (L = factors), one transpose out;
/// passes that fit a cache block run depth-first (see `ButterflySchedule`). With `save`, the
/// factors run one by one and the input of every factor is kept for the backward pass.
func butterflyForward<V: ButterflyVector>(
    _: V.Type, layout: ButterflyLayout, twiddles: UnsafePointer<V.Scalar>,
    input: UnsafePointer<V.Scalar>, output: UnsafeMutablePointer<V.Scalar>, batch: Int,
    mapping: ChunkMapping<V.Scalar>, workspace: ButterflyWorkspace, save: Bool
) {
    typealias S = V.Scalar
    let width = V.scalarCount, n = layout.n
    let complexWork = layout.field == .complex
    let planeCount = n * width
    let chunkScalars = planeCount * (complexWork ? 2 : 1)
    let chunks = (batch + width - 1) / width
    workspace.reserveWork(chunkScalars * MemoryLayout<S>.stride)
    if save {
        workspace.reserveSaved(chunks * layout.factorCount * chunkScalars * MemoryLayout<S>.stride)
        workspace.savedKey = .init(layout: layout, batch: batch, scalarBytes: MemoryLayout<S>.stride)
    }
    let re = workspace.work.bindMemory(to: S.self, capacity: chunkScalars)
    let im = re + planeCount
    let reV = UnsafeMutableRawPointer(re).assumingMemoryBound(to: V.self)
    let imV = UnsafeMutableRawPointer(im).assumingMemoryBound(to: V.self)
    let shared = layout.sharing == .perStride

    for chunk in 0..<chunks {
        let row0 = chunk * width, lanes = min(width, batch - row0)
        gatherChunk(input, row0: row0, lanes: lanes, width: width, n: n, complexWork: complexWork,
                    realInput: mapping.realInput, permutation: mapping.inputPermutation, re: re, im: im)
        if save {
            let saved = workspace.saved.bindMemory(to: S.self, capacity: chunks * layout.factorCount * chunkScalars)
            for f in 0..<layout.factorCount {
                (saved + (chunk * layout.factorCount + f) * chunkScalars).update(from: re, count: chunkScalars)
                let tw = twiddles + layout.offsets[f]
                if complexWork {
                    complexRadix2(re: reV, im: imV, stride: layout.strides[f], lo: 0, hi: n, twiddles: tw, shared: shared)
                } else {
                    realRadix2(x: reV, stride: layout.strides[f], lo: 0, hi: n, twiddles: tw, shared: shared)
                }
            }
        } else {
            runSchedule(layout: layout, twiddles: twiddles, re: reV, im: imV, complexWork: complexWork, shared: shared)
        }
        scatterChunk(output, row0: row0, lanes: lanes, width: width, n: n, complexWork: complexWork,
                     mapping: mapping, re: re, im: im)
    }
}

/// All factors of `layout` on one chunk, in the fused and cache-blocked pass order.
@inline(__always)
func runSchedule<V: ButterflyVector>(layout: ButterflyLayout, twiddles: UnsafePointer<V.Scalar>,
                          re: UnsafeMutablePointer<V>, im: UnsafeMutablePointer<V>,
                          complexWork: Bool, shared: Bool) {
    for g in 0..<layout.schedule.groups.count {
        let passes = layout.schedule.groups[g].passes
        let block = layout.schedule.groups[g].blockElements
        var lo = 0
        while lo < layout.n {
            let hi = lo + block
            for p in passes.lowerBound..<passes.upperBound {
                let pass = layout.schedule.passes[p]
                let f = pass.firstFactor
                let s = layout.strides[f]
                let tw = twiddles + layout.offsets[f]
                if pass.isRadix4 {
                    let next = layout.strides[f + 1]
                    let tw2 = twiddles + layout.offsets[f + 1]
                    if complexWork {
                        complexRadix4(re: re, im: im, stride: min(s, next), smallFirst: s < next, lo: lo, hi: hi,
                                      first: tw, second: tw2, shared: shared)
                    } else {
                        realRadix4(x: re, stride: min(s, next), smallFirst: s < next, lo: lo, hi: hi,
                                   first: tw, second: tw2, shared: shared)
                    }
                } else if complexWork {
                    complexRadix2(re: re, im: im, stride: s, lo: lo, hi: hi, twiddles: tw, shared: shared)
                } else {
                    realRadix2(x: re, stride: s, lo: lo, hi: hi, twiddles: tw, shared: shared)
                }
            }
            lo = hi
        }
    }
}
