import PixelflyCore

/// A Pixelfly MLP's hidden activation a = gelu(h) also kept in block-column order
/// (`BlockColumnOrder`): fc1's GELU epilogue copies each piece of a it has just written into
/// that order, and fc2's (`.sum`, LIBXSMM) weight gradient and dV read a's chunks there instead
/// of copying them into that order themselves (rows of a 12 KB apart at 3072 features).
extension PixelflyLinear: BlockColumnGELUProducer, BlockColumnInputLinear {
    package func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>,
                         blockColumnCopy: inout Matrix<Scalar>, order: BlockColumnOrder) throws {
        let operation = "PixelflyLinear.forward(_:geluDerivative:gelu:blockColumnCopy:order:)"
        guard order.fits(cols: outputFeatures) else {
            throw ShapeError(operation, "\(outputFeatures) output features are not whole block columns of width \(order.blockWidth)")
        }
        blockColumnCopy.reshape(rows: x.rows, cols: outputFeatures)
        try blockColumnCopy.withUnsafeMutableBufferPointer { copy in
            try fusedForward(x, into: &derivative, activated: &activated, keepsDerivative: true,
                             blockCopy: (copy.baseAddress!, order), operation)
        }
    }

    package func blockColumnInput(batch: Int) -> BlockColumnOrder? {
        guard combination == .sum, fusesGELU(batch: batch) else { return nil }
        return sparse.blockColumnInput(batch: batch, rank: lowRank.rank, foldsBias: bias != nil)
    }

    package func backward(input x: Matrix<Scalar>, blockColumnCopy: Matrix<Scalar>, order: BlockColumnOrder,
                          outputGradient dy: Matrix<Scalar>, geluDerivative: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>) throws {
        let operation = "PixelflyLinear.backward(input:blockColumnCopy:order:outputGradient:geluDerivative:inputGradient:)"
        guard let offered = blockColumnInput(batch: x.rows) else {
            throw ConfigurationError(operation, "this layer reads x in place at \(x.rows) rows (a block-column copy needs `.sum`, "
                + "Float, LIBXSMM kernels and x's rows a multiple of 4 KB apart); check blockColumnInput(batch:) first")
        }
        guard offered == order else {
            throw ConfigurationError(operation, "this layer reads block columns \(offered.blockWidth) wide; got \(order.blockWidth)")
        }
        try fusedBackward(input: x, outputGradient: dy, operand: geluDerivative, isDerivative: true, inputGradient: &dx,
                          blockColumnCopy: blockColumnCopy, operation)
    }
}
