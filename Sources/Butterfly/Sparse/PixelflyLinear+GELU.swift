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
        let operation = "PixelflyLinear.forward(_:into:gelu:)"
        try checkInput(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        forwardInput.record(x)
        activated.reshape(rows: x.rows, cols: outputFeatures)
        try activated.withUnsafeMutableBufferPointer { a in
            try sparse.forward(x, into: &y, bias: bias?.value, u: lowRank.u.value, v: lowRank.v.value, hidden: &hidden,
                               epilogue: .gelu(activated: a.baseAddress!))
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluInput: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        let operation = "PixelflyLinear.backward(input:outputGradient:geluInput:inputGradient:)"
        try checkOutputGradient(dy, input: x, operation)
        try checkGELUInput(geluInput, of: x, operation)
        guard hidden.rows == x.rows else {
            throw ShapeError(operation, "no forward pass on this \(x.rows)-row input precedes the backward")
        }
        try forwardInput.check(x, operation)
        try requireGELUFusion(batch: x.rows, operation)
        try geluInput.withUnsafeBufferPointer { h in
            try sparse.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: hidden, u: lowRank.u, v: lowRank.v,
                                hiddenGradient: &hiddenGradient, bias: bias, epilogue: .geluDerivative(preActivation: h.baseAddress!))
        }
    }
}
