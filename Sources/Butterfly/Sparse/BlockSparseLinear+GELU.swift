import PixelflyCore

/// GELU fused into the block-sparse products (`GELUFusingLinear`): on the LIBXSMM backend, in
/// Float, each strip's block of the output gets the activation (forward) or its derivative
/// (input gradient) right after the strip's products, while it is in L1 (`OutputEpilogue`).
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

extension GELUFusingLinear {
    /// Throws `ConfigurationError` unless `fusesGELU(batch:)`.
    func requireGELUFusion(batch: Int, _ operation: String) throws {
        guard !fusesGELU(batch: batch) else { return }
        throw ConfigurationError(operation, "GELU fuses only on the LIBXSMM backend, in Float, with kernels for a "
            + "\(batch)-row batch; check fusesGELU(batch:) and use forward/backward with a separate GELU otherwise")
    }

    /// Throws `ShapeError` unless `geluInput` has the shape of the input x it produced.
    func checkGELUInput(_ geluInput: Matrix<Scalar>, of x: Matrix<Scalar>, _ operation: String) throws {
        guard geluInput.rows == x.rows, geluInput.cols == x.cols else {
            throw ShapeError(operation, "GELU input is \(geluInput.rows)×\(geluInput.cols); the layer's input x = gelu(·) is \(x.rows)×\(x.cols)")
        }
    }
}
