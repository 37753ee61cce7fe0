import PixelflyCore

/// GELU fused into the block-sparse products (`GELUFusingLinear`): on the LIBXSMM backend, in
/// Float, each batch tile of the output gets the activation (forward) or its derivative (input
/// gradient) once the tile's strips are done, while it is in L2 (`OutputEpilogue`).
extension BlockSparseLinear: GELUFusingLinear {
    public func fusesGELU(batch: Int) -> Bool { fusesEpilogue(batch: batch, rank: 0, foldsBias: false) }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>) throws {
        try fusedForward(x, into: &y, activated: &activated, keepsDerivative: false, "BlockSparseLinear.forward(_:into:gelu:)")
    }

    public func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>,
                        gelu activated: inout Matrix<Scalar>) throws {
        try fusedForward(x, into: &derivative, activated: &activated, keepsDerivative: true,
                         "BlockSparseLinear.forward(_:geluDerivative:gelu:)")
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluInput: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try fusedBackward(input: x, outputGradient: dy, operand: geluInput, isDerivative: false, inputGradient: &dx,
                          "BlockSparseLinear.backward(input:outputGradient:geluInput:inputGradient:)")
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluDerivative: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try fusedBackward(input: x, outputGradient: dy, operand: geluDerivative, isDerivative: true, inputGradient: &dx,
                          "BlockSparseLinear.backward(input:outputGradient:geluDerivative:inputGradient:)")
    }

    /// y = x·Wᵀ + b and activated = gelu(y); with `keepsDerivative`, y ← gelu′(y) afterwards.
    private func fusedForward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, activated: inout Matrix<Scalar>,
                              keepsDerivative: Bool, _ operation: String) throws {
        try checkInput(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        y.reshape(rows: x.rows, cols: outputFeatures)
        activated.reshape(rows: x.rows, cols: outputFeatures)
        try activated.withUnsafeMutableBufferPointer { a in
            try multiply(x, into: &y, bias: bias?.value,
                         epilogue: keepsDerivative ? .geluKeepingDerivative(activated: a.baseAddress!) : .gelu(activated: a.baseAddress!))
        }
    }

    /// The backward with dx ⊙ gelu′(operand), or dx ⊙ operand when it `isDerivative`.
    private func fusedBackward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, operand: Matrix<Scalar>,
                               isDerivative: Bool, inputGradient dx: inout Matrix<Scalar>, _ operation: String) throws {
        try checkOutputGradient(dy, input: x, operation)
        try checkGELUInput(operand, of: x, operation, what: isDerivative ? "GELU derivative" : "GELU input")
        try requireGELUFusion(batch: x.rows, operation)
        try operand.withUnsafeBufferPointer { h in
            try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: nil,
                         epilogue: isDerivative ? .scale(by: h.baseAddress!) : .geluDerivative(preActivation: h.baseAddress!))
        }
    }
}
