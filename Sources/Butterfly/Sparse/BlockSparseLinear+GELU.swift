import PixelflyCore

/// GELU fused into the block-sparse products (`GELUFusingLinear`): on the LIBXSMM backend, in
/// Float, each batch tile of the output gets the activation (forward) or its derivative (input
/// gradient) once the tile's strips are done, while it is in L2 (`OutputEpilogue`).
extension BlockSparseLinear: GELUFusingLinear {
    public func fusesGELU(batch: Int) -> Bool { fusesEpilogue(batch: batch, rank: 0, foldsBias: false) }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>) throws {
        try checkInput(x, "BlockSparseLinear.forward(_:into:gelu:)")
        try requireGELUFusion(batch: x.rows, "BlockSparseLinear.forward(_:into:gelu:)")
        y.reshape(rows: x.rows, cols: outputFeatures)
        activated.reshape(rows: x.rows, cols: outputFeatures)
        try activated.withUnsafeMutableBufferPointer { a in
            try multiply(x, into: &y, bias: bias?.value, epilogue: .gelu(activated: a.baseAddress!))
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluInput: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        let operation = "BlockSparseLinear.backward(input:outputGradient:geluInput:inputGradient:)"
        try checkOutputGradient(dy, input: x, operation)
        try checkGELUInput(geluInput, of: x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        try geluInput.withUnsafeBufferPointer { h in
            try backward(input: x, outputGradient: dy, inputGradient: &dx, lowRank: nil,
                         epilogue: .geluDerivative(preActivation: h.baseAddress!))
        }
    }
}
