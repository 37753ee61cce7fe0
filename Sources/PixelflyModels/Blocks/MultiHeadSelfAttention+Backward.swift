import PixelflyCore

extension MultiHeadSelfAttention {
    /// Backward through the output projection, the attention core and the three input
    /// projections. Per (sequence, head, query block), on the allowed key blocks only
    /// (derivation in notebooks-md/blocks.md):
    ///
    ///     ∂P = ∂O·Vᵀ,   ∂V += Pᵀ·∂O,   ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)),
    ///     ∂Q += ∂S·K/√d,   ∂K += ∂Sᵀ·Q/√d,
    ///     ∂X = queryᵀ(∂Q) + keyᵀ(∂K) + valueᵀ(∂V)
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        let batch = try checkInput(x, "MultiHeadSelfAttention.backward")
        guard context.rows == x.rows, probabilities.rows == batch * heads * sequenceLength else {
            throw ShapeError("MultiHeadSelfAttention.backward", "input has \(x.rows) rows but the last forward had "
                + "\(context.rows); call forward on this input first")
        }
        try forwardInput.check(x, "MultiHeadSelfAttention.backward")
        try output.backward(input: context, outputGradient: dy, inputGradient: &contextGradient)
        queryGradient.setZero(rows: x.rows, cols: features)
        keyGradient.setZero(rows: x.rows, cols: features)
        valueGradient.setZero(rows: x.rows, cols: features)
        let parts = ComputeThreads.count
        panelGradient.ensureShape(rows: parts * layout.blockSize, cols: layout.panelWidth)
        attendBackward(batch: batch, parts: parts)
        try query.backward(input: x, outputGradient: queryGradient, inputGradient: &dx)
        try key.backward(input: x, outputGradient: keyGradient, inputGradient: &partialInputGradient)
        try addResidual(partialInputGradient, to: &dx)
        try value.backward(input: x, outputGradient: valueGradient, inputGradient: &partialInputGradient)
        try addResidual(partialInputGradient, to: &dx)
    }

    /// The attention core's backward, split over the (sequence, head) pairs like the forward
    /// (`splitOverPairs`): a pair adds only to its own head's columns of its sequence's rows of
    /// ∂Q, ∂K and ∂V, and each part works in its own score-gradient panel.
    private func attendBackward(batch: Int, parts: Int) {
        let (c, d, bs, width) = (features, headFeatures, layout.blockSize, layout.panelWidth)
        queries.withUnsafeBufferPointer { pq in
        keys.withUnsafeBufferPointer { pk in
        values.withUnsafeBufferPointer { pv in
        probabilities.withUnsafeBufferPointer { pp in
        contextGradient.withUnsafeBufferPointer { pdo in
        panelGradient.withUnsafeMutableBufferPointer { pds in
        queryGradient.withUnsafeMutableBufferPointer { pdq in
        keyGradient.withUnsafeMutableBufferPointer { pdk in
        valueGradient.withUnsafeMutableBufferPointer { pdv in
            let (q, k, v, p, dO) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pp.baseAddress!, pdo.baseAddress!)
            let (dq, dk, dv) = (pdq.baseAddress!, pdk.baseAddress!, pdv.baseAddress!)
            splitOverPairs(batch: batch, productsPerPair: 4, maximumParts: parts) { b, h, part in
                let dS = pds.baseAddress! + part * bs * width
                for qb in 0..<layout.blockCount {
                    let queryRow = blockRow(sequence: b, block: qb)
                    let panel = p + panelOffset(sequence: b, head: h, queryBlock: qb)
                    let used = layout.slotCounts[qb]
                    for s in 0..<used {
                        let keyRow = blockRow(sequence: b, block: layout.keyBlock(qb, slot: s))
                        // ∂P[:, slot s] = ∂O_qb · V_kbᵀ
                        Scalar.gemm(.none, .transposed, m: bs, n: bs, k: d, alpha: 1,
                                    a: dO + queryRow * c + h * d, lda: c, b: v + keyRow * c + h * d, ldb: c,
                                    beta: 0, c: dS + s * bs, ldc: width)
                        // ∂V_kb += P[:, slot s]ᵀ · ∂O_qb
                        Scalar.gemm(.transposed, .none, m: bs, n: d, k: bs, alpha: 1,
                                    a: panel + s * bs, lda: width, b: dO + queryRow * c + h * d, ldb: c,
                                    beta: 1, c: dv + keyRow * c + h * d, ldc: c)
                    }
                    for r in 0..<bs {
                        BlockKernels.softmaxRowBackward(probabilities: panel + r * width,
                                                        gradient: dS + r * width, count: used * bs)
                    }
                    for s in 0..<used {
                        let keyRow = blockRow(sequence: b, block: layout.keyBlock(qb, slot: s))
                        // ∂Q_qb += ∂S[:, slot s] · K_kb / √d
                        Scalar.gemm(.none, .none, m: bs, n: d, k: bs, alpha: scale,
                                    a: dS + s * bs, lda: width, b: k + keyRow * c + h * d, ldb: c,
                                    beta: 1, c: dq + queryRow * c + h * d, ldc: c)
                        // ∂K_kb += ∂S[:, slot s]ᵀ · Q_qb / √d
                        Scalar.gemm(.transposed, .none, m: bs, n: d, k: bs, alpha: scale,
                                    a: dS + s * bs, lda: width, b: q + queryRow * c + h * d, ldb: c,
                                    beta: 1, c: dk + keyRow * c + h * d, ldc: c)
                    }
                }
            }
        }}}}}}}}}
    }
}
