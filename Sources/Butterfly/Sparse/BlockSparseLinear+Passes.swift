import PixelflyCore

/// The passes of `BlockSparseLinear`: y = x·Wᵀ (+ b) (+ h·Uᵀ) and its backward, on LIBXSMM's
/// kernels (`BlockSparseXSMMKernel`) when the layer's backend for the batch is `.libxsmm`, else
/// on OpenBLAS GEMMs over the kept blocks (`BlockSparseKernel`).
extension BlockSparseLinear {
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        y.reshape(rows: x.rows, cols: outputFeatures)
        try multiply(x, into: &y, bias: bias?.value)
    }

    /// y = x·Wᵀ + h·Uᵀ + b, without this layer's own bias (b is the caller's, or nil); h is
    /// (batch, r), U (out, r). The rank-r product and the bias are added inside the kernel's
    /// loops, on output still in cache.
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias b: Matrix<Scalar>?,
                 plus h: Matrix<Scalar>, times u: Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward")
        guard h.rows == x.rows, u.rows == outputFeatures, u.cols == h.cols else {
            throw ShapeError("BlockSparseLinear.forward", "low-rank term \(h.rows)×\(h.cols) · (\(u.rows)×\(u.cols))ᵀ does not fit \(x.rows)×\(outputFeatures)")
        }
        y.reshape(rows: x.rows, cols: outputFeatures)
        try multiply(x, into: &y, bias: b, lowRank: (h, u))
    }

    /// y = x·Wᵀ (+ bias) (+ h·Uᵀ), then the `epilogue` on y block by block (LIBXSMM only:
    /// callers check `fusesEpilogue`).
    func multiply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, bias: Matrix<Scalar>?,
                  lowRank: (Matrix<Scalar>, Matrix<Scalar>)? = nil, epilogue: OutputEpilogue<Scalar>? = nil) throws {
        let batch = x.rows
        if batch == 0 { return }
        let rank = lowRank.map { $0.0.cols } ?? 0
        if let kernels = xsmmKernels(batch: batch, rank: rank, foldsBias: false) {
            Self.pack(forwardPlan, weight.value, into: forwardPack)
            if let (_, u) = lowRank, rank > 0 {
                Self.packLowRankFactor(forwardPlan, u, rowsAreFactorRows: true, into: lowRankPack)
            }
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    withOptionalPointer(bias) { biasPointer in
                        withFusedLowRank(lowRank?.0, factor: lowRankPack, kernels: kernels.lowRankForward) { term in
                            applyForwardStrips(kernels, input: input.baseAddress!, output: output.baseAddress!, bias: biasPointer,
                                               lowRank: term, epilogue: epilogue)
                        }
                    }
                }
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.forward")
        if let bias { try broadcastRows(bias, into: &y) }
        let beta: Scalar = bias == nil ? 0 : 1
        let workspaceCount = BlockSparseKernel.forwardWorkspaceCount(layout, batch: batch)
        if workspace.count != workspaceCount { workspace.reshape(rows: 1, cols: workspaceCount) }
        weight.value.withUnsafeBufferPointer { panels in
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { output in
                    workspace.withUnsafeMutableBufferPointer { space in
                        withLowRankTerm(lowRank) { term in
                            BlockSparseKernel.forward(layout, panels: panels.baseAddress!, x: input.baseAddress!, batch: batch,
                                                      y: output.baseAddress!, beta: beta, workspace: space.baseAddress, lowRank: term)
                        }
                    }
                }
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: nil)
    }

    /// The backward with dx = dy·W + dh·V, where dh is (batch, r) and V (r, in).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  plus dh: Matrix<Scalar>, times v: Matrix<Scalar>) throws {
        guard dh.rows == x.rows, v.cols == inputFeatures, v.rows == dh.cols else {
            throw ShapeError("BlockSparseLinear.backward", "low-rank term \(dh.rows)×\(dh.cols) · \(v.rows)×\(v.cols) does not fit \(x.rows)×\(inputFeatures)")
        }
        try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: (dh, v))
    }

    /// The backward with an optional low-rank term, then the `epilogue` on dx block by block
    /// (LIBXSMM only: callers check `fusesEpilogue`).
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                  lowRank: (Matrix<Scalar>, Matrix<Scalar>)?, epilogue: OutputEpilogue<Scalar>? = nil) throws {
        try checkOutputGradient(dy, input: x, "BlockSparseLinear.backward")
        let batch = x.rows
        dx.reshape(rows: batch, cols: inputFeatures)
        if batch == 0 { return }
        if let kernels = xsmmKernels(batch: batch, rank: lowRank.map { $0.0.cols } ?? 0, foldsBias: false) {
            if let (_, v) = lowRank, v.rows > 0 {
                Self.packLowRankFactor(inputGradientPlan, v, rowsAreFactorRows: false, into: lowRankGradientPack)
            }
            withFusedLowRank(lowRank?.0, factor: lowRankGradientPack, kernels: kernels.lowRankInputGradient) { term in
                xsmmBackward(kernels, x: x, dy: dy, dx: &dx, term: term, bias: bias, uGradient: nil, epilogue: epilogue)
            }
            return
        }
        try Self.refuse(epilogue, "BlockSparseLinear.backward")
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        x.withUnsafeBufferPointer { input in
            dy.withUnsafeBufferPointer { outputGradient in
                weight.withMutableGradientElements { gradient in
                    BlockSparseKernel.accumulateWeightGradient(layout, dy: outputGradient.baseAddress!, x: input.baseAddress!,
                                                               batch: batch, panelGradients: gradient.baseAddress!)
                }
                weight.value.withUnsafeBufferPointer { panels in
                    dx.withUnsafeMutableBufferPointer { inputGradient in
                        withLowRankTerm(lowRank) { term in
                            BlockSparseKernel.inputGradient(layout, panels: panels.baseAddress!, dy: outputGradient.baseAddress!,
                                                            batch: batch, dx: inputGradient.baseAddress!, lowRank: term)
                        }
                    }
                }
            }
        }
    }

    /// Throws when an epilogue reaches a path that cannot run it (the caller skipped `fusesEpilogue`).
    static func refuse(_ epilogue: OutputEpilogue<Scalar>?, _ operation: String) throws {
        guard epilogue != nil else { return }
        throw ConfigurationError(operation, "a fused activation needs the LIBXSMM backend with kernels for this batch "
            + "and Float; check fusesGELU(batch:) first")
    }

    /// `(a, b)` as a kernel term: a (batch, k) and b with k = a.cols.
    func withLowRankTerm<R>(_ pair: (Matrix<Scalar>, Matrix<Scalar>)?,
                            _ body: (BlockSparseKernel.LowRankTerm<Scalar>?) -> R) -> R {
        guard let (a, b) = pair, a.count > 0, b.count > 0 else { return body(nil) }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                body(BlockSparseKernel.LowRankTerm(a: pa.baseAddress!, lda: a.cols, b: pb.baseAddress!, ldb: b.cols, k: a.cols))
            }
        }
    }
}
