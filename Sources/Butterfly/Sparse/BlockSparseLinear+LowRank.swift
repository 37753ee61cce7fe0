import PixelflyCore

/// The block-sparse product with a Pixelfly low-rank term fused in (`PixelflyLinear` with
/// `.sum`): the forward computes h = x·Vᵀ and the backward dh = dy·U tile by tile inside the
/// strip loops, and the low-rank weight gradients ride on the block-sparse weight gradient.
extension BlockSparseLinear {
    /// Pixelfly's `.sum` forward: h = x·Vᵀ into `hidden` (batch, r), then y = x·Wᵀ + h·Uᵀ + b
    /// (b is the caller's bias or nil; U is (out, r), V (r, in)). On LIBXSMM with its low-rank
    /// kernels, h is computed tile by tile inside the strip loop (`XSMMLowRankKernels`), and a
    /// bias rides on the rank-r product: `hidden` is then (batch, r + 1) with column r all ones,
    /// U is packed with b as its column r, and y += [h 1]·[U b]ᵀ (`XSMMKernelSet.foldsBias`).
    /// Else h is one `gemm` and the product goes as `forward(_:into:bias:plus:times:)`. An
    /// `epilogue` runs on y block by block (LIBXSMM only: callers check `fusesEpilogue`).
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias b: Matrix<Scalar>?,
                 u: Matrix<Scalar>, v: Matrix<Scalar>, hidden h: inout Matrix<Scalar>,
                 epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        guard u.rows == outputFeatures, v.cols == inputFeatures, u.cols == v.rows, v.rows > 0 else {
            throw ShapeError("BlockSparseLinear.forward", "low-rank factors U \(u.rows)×\(u.cols), V \(v.rows)×\(v.cols) do not fit "
                + "\(inputFeatures) → \(outputFeatures) (U must be \(outputFeatures)×r, V r×\(inputFeatures), r ≥ 1)")
        }
        let (batch, rank) = (x.rows, v.rows)
        if batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: b != nil),
           let products = kernels.lowRankProducts {
            y.reshape(rows: batch, cols: outputFeatures)
            let width = kernels.hiddenWidth
            if h.rows != batch || h.cols != width { h.reshape(rows: batch, cols: width) }
            if width > rank {
                h.withUnsafeMutableBufferPointer { hidden in
                    for row in 0..<batch { hidden[row * width + rank] = 1 }
                }
            }
            Self.pack(forwardPlan, weight.value, into: forwardPack)
            Self.packLowRankFactor(forwardPlan, u, rowsAreFactorRows: true, biasColumn: width > rank ? b : nil, into: lowRankPack)
            Self.transpose(v, into: lowRankInputPack)
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    withOptionalPointer(width > rank ? nil : b) { biasPointer in
                        withProducedLowRank(&h, factor: lowRankPack, kernels: kernels.lowRankForward,
                                            producerFactor: lowRankInputPack, producerKernels: products.hidden, producerRank: rank) { term in
                            applyForwardStrips(kernels, input: input.baseAddress!, output: output.baseAddress!, bias: biasPointer,
                                               lowRank: term, epilogue: epilogue)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.forward")
        try gemm(x, .none, v, .transposed, into: &h)
        try forward(x, into: &y, bias: b, plus: h, times: u)
    }

    /// Pixelfly's `.sum` backward after `forward(_:into:bias:u:v:hidden:)` with the same x and h
    /// (batch × r, or batch × (r + 1) ending in the folded bias's ones column):
    /// dU += dyᵀ·h, dh = dy·U (into `hiddenGradient`), dV += dhᵀ·x, dW += dyᵀ·x on the kept
    /// blocks, dx = dy·W + dh·V, and db += Σ_batch dy for `pixelflyBias` (the Pixelfly layer's
    /// bias; this layer's own, if it has one, too). On LIBXSMM all four low-rank products run on
    /// its kernels, dh tile by tile inside the input gradient's strip loop and db with the weight
    /// gradient's tiles; else they are `gemm` calls and `addColumnSums`. An `epilogue` runs on
    /// dx block by block (LIBXSMM only: callers check `fusesEpilogue`).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  hidden h: Matrix<Scalar>, u: Parameter<Scalar>, v: Parameter<Scalar>,
                  hiddenGradient dh: inout Matrix<Scalar>, bias pixelflyBias: Parameter<Scalar>?,
                  epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkOutputGradient(dy, input: x, "BlockSparseLinear.backward")
        let (batch, rank) = (x.rows, v.value.rows)
        let foldsBias = h.cols == rank + 1
        guard h.rows == batch, h.cols == rank || foldsBias, u.value.rows == outputFeatures, u.value.cols == rank,
              v.value.cols == inputFeatures else {
            throw ShapeError("BlockSparseLinear.backward", "h \(h.rows)×\(h.cols), U \(u.value.rows)×\(u.value.cols), V \(v.value.rows)×\(v.value.cols) "
                + "do not fit a \(batch)-row batch of \(inputFeatures) → \(outputFeatures) (h must be \(batch)×r or \(batch)×(r + 1), U \(outputFeatures)×r, V r×\(inputFeatures))")
        }
        if batch > 0, let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: foldsBias), let products = kernels.lowRankProducts {
            dx.reshape(rows: batch, cols: inputFeatures)
            if dh.rows != batch || dh.cols != rank { dh.reshape(rows: batch, cols: rank) }
            if pixelflyBias != nil, let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
            Self.packLowRankFactor(inputGradientPlan, v.value, rowsAreFactorRows: false, into: lowRankGradientPack)
            Self.copy(u.value, into: lowRankOutputPack)
            h.withUnsafeBufferPointer { hidden in
                u.withMutableGradientElements { uGradient in
                    let dU = BlockSparseXSMMKernel.LowRankWeightGradient(activations: hidden.baseAddress!, activationStride: h.cols,
                                                                         gradient: uGradient.baseAddress!, rank: rank,
                                                                         kernels: products.uGradient)
                    withProducedLowRank(&dh, factor: lowRankGradientPack, kernels: kernels.lowRankInputGradient,
                                        producerFactor: lowRankOutputPack, producerKernels: products.hiddenGradient, producerRank: rank) { term in
                        guard kernels.packsInput else {
                            xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: pixelflyBias ?? bias, uGradient: dU,
                                         epilogue: epilogue)
                            return
                        }
                        v.withMutableGradientElements { vGradient in
                            let dV = BlockSparseXSMMKernel.PackedVGradient(hiddenGradient: UnsafePointer(term.activations),
                                                                           gradient: vGradient.baseAddress!, rank: rank,
                                                                           kernels: products.packedVGradient)
                            xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: pixelflyBias ?? bias, uGradient: dU,
                                         vGradient: dV, epilogue: epilogue)
                        }
                    }
                }
            }
            if !kernels.packsInput {
                dh.withUnsafeBufferPointer { hiddenGradient in
                    x.withUnsafeBufferPointer { input in
                        v.withMutableGradientElements { gradient in
                            products.accumulateVGradient(dh: hiddenGradient.baseAddress!, x: input.baseAddress!, into: gradient.baseAddress!)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.backward")
        if let pixelflyBias { try pixelflyBias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        // dU += dyᵀ·h (the parallel `gemm`). An h that ends in the ones column of a LIBXSMM
        // forward (the backend changed in between) loses that column first.
        if foldsBias {
            var leading = Matrix<Scalar>(rows: batch, cols: rank)
            for i in 0..<batch { for k in 0..<rank { leading[i, k] = h[i, k] } }
            try u.updateGradient { try gemm(dy, .transposed, leading, .none, beta: 1, into: &$0) }
        } else {
            try u.updateGradient { try gemm(dy, .transposed, h, .none, beta: 1, into: &$0) }
        }
        try gemm(dy, .none, u.value, .none, into: &dh)
        try v.updateGradient { try gemm(dh, .transposed, x, .none, beta: 1, into: &$0) }
        try backward(input: x, outputGradient: dy, inputGradient: &dx, plus: dh, times: v.value)
    }
}
