import PixelflyCore

/// A Pixelfly MLP's hidden activation gelu(h) in block-column order (`BlockColumnOrder`): fc1
/// writes it so in its GELU epilogue, fc2 (`.sum`, LIBXSMM) reads it so in its forward strips,
/// its producer h = x·Vᵀ, its weight gradient and dV, which then copy nothing.
extension PixelflyLinear: BlockColumnGELUProducer, BlockColumnInputLinear {
    package func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>,
                         order: BlockColumnOrder) throws {
        try fusedForward(x, into: &derivative, activated: &activated, keepsDerivative: true, order: order,
                         "PixelflyLinear.forward(_:geluDerivative:gelu:order:)")
    }

    package func blockColumnInput(batch: Int) -> BlockColumnOrder? {
        guard combination == .sum, fusesGELU(batch: batch) else { return nil }
        return sparse.blockColumnInput(batch: batch, rank: lowRank.rank, foldsBias: bias != nil)
    }

    package func forward(blockColumns x: Matrix<Scalar>, order: BlockColumnOrder, into y: inout Matrix<Scalar>) throws {
        let operation = "PixelflyLinear.forward(blockColumns:order:into:)"
        try checkInput(x, operation)
        try requireBlockColumnInput(order, batch: x.rows, operation)
        forwardInput.record(x)
        try sparse.forward(x, into: &y, bias: bias?.value, u: lowRank.u.value, v: lowRank.v.value, hidden: &hidden, inputOrder: order)
    }

    package func backward(blockColumnInput x: Matrix<Scalar>, order: BlockColumnOrder, outputGradient dy: Matrix<Scalar>,
                          geluDerivative: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>) throws {
        let operation = "PixelflyLinear.backward(blockColumnInput:order:outputGradient:geluDerivative:inputGradient:)"
        try checkInput(x, operation)
        try requireBlockColumnInput(order, batch: x.rows, operation)
        try fusedBackward(input: x, outputGradient: dy, operand: geluDerivative, isDerivative: true, inputGradient: &dx,
                          inputOrder: order, operation)
    }

    /// Throws unless this layer reads `order` at `batch` rows.
    private func requireBlockColumnInput(_ order: BlockColumnOrder, batch: Int, _ operation: String) throws {
        guard let offered = blockColumnInput(batch: batch) else {
            throw ConfigurationError(operation, "this layer reads a row-major input at \(batch) rows (a block-column input needs "
                + "`.sum`, Float, LIBXSMM kernels and x's rows a multiple of 4 KB apart); check blockColumnInput(batch:) first")
        }
        guard offered == order else {
            throw ConfigurationError(operation, "this layer reads block columns \(offered.blockWidth) wide; got \(order.blockWidth)")
        }
    }

    /// Throws `ShapeError` unless the output's width is a whole number of `order`'s block columns.
    func checkBlockColumnOutput(_ order: BlockColumnOrder?, _ operation: String) throws {
        guard let order, !order.fits(cols: outputFeatures) else { return }
        throw ShapeError(operation, "\(outputFeatures) output features are not whole block columns of width \(order.blockWidth)")
    }
}
