import CLibXSMM
import PixelflyCore

/// The forward's kernels for an input x stored in block-column order (`BlockColumnOrder`, block
/// width b = the plan's block size): the strips read each kept block of a batch tile as one
/// contiguous tile × b matrix (ldb = b) instead of pieces of rows `in` apart, and a Pixelfly
/// term's producer h = x·Vᵀ sums over the block columns. The backward needs no kernels of its
/// own: the weight gradient's kernels already read x in this order from its chunk copy
/// (`XSMMKernelSet.packsInput`), and with such an input they read it in place.
struct BlockColumnInputKernels {
    /// [height index][full tile, last tile], as `XSMMKernelSet.forward` with ldb = b.
    let strips: [[UnsafeRawPointer?]]
    /// The plan's `inputOffsets` for this order: block column q at q·b·batch elements.
    let inputOffsets: [UInt64]
    /// h = x·Vᵀ per tile, or nil without a low-rank term.
    let producer: BlockColumnProducer?
}

/// activations[tile]ᵀ (r × n, ld = the activations' width) = Σ_q Vᵀ[:, block q] (r × b, ld r) ·
/// x[tile, block q]ᵀ (b × n, ld b): batch-reduce calls over runs of block columns at most
/// `ProducerKernels.maximumDepth` deep (the same L2 reasoning as `ProducerKernels`), the first
/// writing (β = 0), the others adding.
struct BlockColumnProducer {
    /// [full tile, last tile][β = 0, β = 1].
    let kernels: [[UnsafeRawPointer?]]
    /// Block columns per call: run c covers runs[c].
    let runs: [Range<Int>]
    /// Byte offsets of block column q in Vᵀ's pack (q·b·r) and in x (q·b·batch), from their bases.
    let factorOffsets: [UInt64]
    let inputOffsets: [UInt64]
}

extension XSMMKernelSet {
    /// The kernels for `plan` (the layer's forward plan) with an input in block-column order;
    /// nil if LIBXSMM cannot make one of them. Made on the first call, then reused.
    func blockColumnInput(forward plan: BlockStripPlan) -> BlockColumnInputKernels? {
        if let blockColumnInputCache { return blockColumnInputCache }
        let b = plan.blockSize
        let tileRows = [tile, batch % tile]
        var ok = true
        let strips = plan.heights.map { h in
            tileRows.map { n -> UnsafeRawPointer? in
                if n == 0 { return nil }
                let kernel = pixelfly_xsmm_brgemm_offs(isDouble, Int32(h), Int32(n), Int32(b), Int32(h), Int32(b), Int32(plan.rows))
                ok = ok && kernel != nil
                return kernel
            }
        }
        var producer: BlockColumnProducer?
        if rank > 0 {
            let blocks = plan.cols / b
            let runCount = max(1, (plan.cols + ProducerKernels.maximumDepth - 1) / ProducerKernels.maximumDepth)
            let perRun = (blocks + runCount - 1) / runCount
            let runs = stride(from: 0, to: blocks, by: perRun).map { $0..<min(blocks, $0 + perRun) }
            let size = UInt64(isDouble == 1 ? 8 : 4)
            let kernels = tileRows.map { n in
                [0, 1].map { betaOne -> UnsafeRawPointer? in
                    if n == 0 { return nil }
                    let kernel = pixelfly_xsmm_brgemm_offs_beta(isDouble, Int32(rank), Int32(n), Int32(b), Int32(rank), Int32(b),
                                                                Int32(hiddenWidth), Int32(betaOne))
                    ok = ok && kernel != nil
                    return kernel
                }
            }
            producer = BlockColumnProducer(kernels: kernels, runs: runs,
                                           factorOffsets: (0..<blocks).map { UInt64($0 * b * rank) * size },
                                           inputOffsets: (0..<blocks).map { UInt64($0 * b * batch) * size })
        }
        guard ok else { return nil }
        let set = BlockColumnInputKernels(strips: strips, inputOffsets: plan.inputOffsets.map { $0 * UInt64(batch) },
                                          producer: producer)
        blockColumnInputCache = set
        return set
    }
}
