import PixelflyCore

/// GELU fused into Pixelfly's `.sum` products (`GELUFusingLinear`): the activation, or its
/// derivative, runs on each batch tile of y (or dx) once the block-sparse products, the rank-r
/// term and the bias of the tile are done, while it is in L2 (`OutputEpilogue`). LIBXSMM
/// backend, Float; `.gated` does not fuse (its blend runs after both terms).
extension PixelflyLinear: GELUFusingLinear {
    public func fusesGELU(batch: Int) -> Bool {
        combination == .sum && sparse.fusesEpilogue(batch: batch, rank: lowRank.rank, foldsBias: bias != nil)
    }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>) throws {
        try fusedForward(x, into: &y, activated: &activated, keepsDerivative: false, "PixelflyLinear.forward(_:into:gelu:)")
    }

    public func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>,
                        gelu activated: inout Matrix<Scalar>) throws {
        try fusedForward(x, into: &derivative, activated: &activated, keepsDerivative: true,
                         "PixelflyLinear.forward(_:geluDerivative:gelu:)")
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluInput: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try fusedBackward(input: x, outputGradient: dy, operand: geluInput, isDerivative: false, inputGradient: &dx,
                          "PixelflyLinear.backward(input:outputGradient:geluInput:inputGradient:)")
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluDerivative: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try fusedBackward(input: x, outputGradient: dy, operand: geluDerivative, isDerivative: true, inputGradient: &dx,
                          "PixelflyLinear.backward(input:outputGradient:geluDerivative:inputGradient:)")
    }

    /// y = x·Wᵀ + b (with the rank-r term) and activated = gelu(y); with `keepsDerivative`,
    /// y ← gelu′(y) afterwards; with a `blockCopy` (and the derivative kept), activated is also
    /// copied into it in its block-column order.
    func fusedForward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, activated: inout Matrix<Scalar>,
                      keepsDerivative: Bool, blockCopy: (matrix: UnsafeMutablePointer<Scalar>, order: BlockColumnOrder)? = nil,
                      _ operation: String) throws {
        try checkInput(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        forwardInput.record(x)
        activated.reshape(rows: x.rows, cols: outputFeatures)
        let (rows, cols) = (x.rows, outputFeatures)
        try activated.withUnsafeMutableBufferPointer { a in
            let epilogue: OutputEpilogue<Scalar> = if let blockCopy {
                .geluKeepingDerivativeWithBlockCopy(activated: a.baseAddress!, blocks: blockCopy.matrix, order: blockCopy.order,
                                                    rows: rows, cols: cols)
            } else if keepsDerivative {
                .geluKeepingDerivative(activated: a.baseAddress!)
            } else {
                .gelu(activated: a.baseAddress!)
            }
            try sparse.forward(x, into: &y, bias: bias?.value, u: lowRank.u.value, v: lowRank.v.value, hidden: &hidden,
                               epilogue: epilogue)
        }
    }

    /// The backward with dx ⊙ gelu′(operand), or dx ⊙ operand when it `isDerivative`; the
    /// weight gradient on x's `blockColumnCopy` when given.
    func fusedBackward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, operand: Matrix<Scalar>,
                       isDerivative: Bool, inputGradient dx: inout Matrix<Scalar>, blockColumnCopy: Matrix<Scalar>? = nil,
                       _ operation: String) throws {
        try checkOutputGradient(dy, input: x, operation)
        try checkGELUInput(operand, of: x, operation, what: isDerivative ? "GELU derivative" : "GELU input")
        guard hidden.rows == x.rows else {
            throw ShapeError(operation, "no forward pass on this \(x.rows)-row input precedes the backward")
        }
        try forwardInput.check(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        try operand.withUnsafeBufferPointer { h in
            try sparse.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: hidden, u: lowRank.u, v: lowRank.v,
                                hiddenGradient: &hiddenGradient, bias: bias,
                                epilogue: isDerivative ? .scale(by: h.baseAddress!) : .geluDerivative(preActivation: h.baseAddress!),
                                blockColumnCopy: blockColumnCopy)
        }
    }
}
