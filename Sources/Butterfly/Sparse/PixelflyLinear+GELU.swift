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
    /// y ← gelu′(y) afterwards.
    private func fusedForward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, activated: inout Matrix<Scalar>,
                              keepsDerivative: Bool, _ operation: String) throws {
        try checkInput(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        forwardInput.record(x)
        activated.reshape(rows: x.rows, cols: outputFeatures)
        try activated.withUnsafeMutableBufferPointer { a in
            try sparse.forward(x, into: &y, bias: bias?.value, u: lowRank.u.value, v: lowRank.v.value, hidden: &hidden,
                               epilogue: keepsDerivative ? .geluKeepingDerivative(activated: a.baseAddress!) : .gelu(activated: a.baseAddress!))
        }
    }

    /// The backward with dx ⊙ gelu′(operand), or dx ⊙ operand when it `isDerivative`.
    private func fusedBackward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, operand: Matrix<Scalar>,
                               isDerivative: Bool, inputGradient dx: inout Matrix<Scalar>, _ operation: String) throws {
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
                                epilogue: isDerivative ? .scale(by: h.baseAddress!) : .geluDerivative(preActivation: h.baseAddress!))
        }
    }
}
