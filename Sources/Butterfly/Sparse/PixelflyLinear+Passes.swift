import PixelflyCore

/// Forward and backward of `PixelflyLinear` (formulas in its doc comment). With `.sum` the
/// low-rank products h·Uᵀ and dh·V run inside the block-sparse kernel's chunk loop, and on
/// LIBXSMM so do h = x·Vᵀ and dh = dy·U (dU, dV on LIBXSMM kernels too: `XSMMLowRankKernels`).
extension PixelflyLinear {
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "PixelflyLinear.forward")
        forwardInput.record(x)
        let batch = x.rows
        switch combination {
        case .sum:
            try sparse.forward(x, into: &y, bias: bias?.value, u: lowRank.u.value, v: lowRank.v.value, hidden: &hidden)
        case .gated:
            try gemm(x, .none, lowRank.v.value, .transposed, into: &hidden)
            try sparse.forward(x, into: &sparseOutput)
            try gemm(hidden, .none, lowRank.u.value, .transposed, into: &difference)
            subtract(sparseOutput, from: &difference)
            try computeGate(x)
            y.reshape(rows: batch, cols: outputFeatures)
            GateRows.blend(base: sparseOutput, difference: difference, gate: gate, bias: bias?.value, into: &y)
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "PixelflyLinear.backward")
        guard hidden.rows == x.rows else {
            throw ShapeError("PixelflyLinear.backward", "no forward pass on this \(x.rows)-row input precedes the backward")
        }
        try forwardInput.check(x, "PixelflyLinear.backward")
        switch combination {
        case .sum:
            // dU += dyᵀ·h, dh = dy·U, dV += dhᵀ·x; dx = dy·S + dh·V and db += Σ dy inside the
            // sparse kernel.
            try sparse.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: hidden,
                                u: lowRank.u, v: lowRank.v, hiddenGradient: &hiddenGradient, bias: bias)
        case .gated:
            if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
            // ∂L/∂z_i = (dy_i · d_i)·g_i(1 − g_i); dw += ∂L/∂zᵀ·x; dc += Σ ∂L/∂z.
            GateRows.gateGradient(dy: dy, difference: difference, gate: gate, into: &gateGradient)
            try gateWeight!.updateGradient { try gemm(gateGradient, .transposed, x, .none, beta: 1, into: &$0) }
            try gateBias!.updateGradient { try addColumnSums(of: gateGradient, into: &$0) }
            GateRows.scale(dy, by: gate, complement: true, into: &scaledGradient)
            try sparse.backward(input: x, outputGradient: scaledGradient, inputGradient: &dx)
            GateRows.scale(dy, by: gate, complement: false, into: &scaledGradient)
            try lowRankBackward(x, scaledGradient, &dx)
            try gemm(gateGradient, .none, gateWeight!.value, .none, beta: 1, into: &dx)
        }
    }

    /// dU += dlᵀ·h, dh = dl·U, dV += dhᵀ·x, dx += dh·V.
    private func lowRankBackward(_ x: Matrix<Scalar>, _ dl: Matrix<Scalar>, _ dx: inout Matrix<Scalar>) throws {
        try lowRank.u.updateGradient { try gemm(dl, .transposed, hidden, .none, beta: 1, into: &$0) }
        try gemm(dl, .none, lowRank.u.value, .none, into: &hiddenGradient)
        try lowRank.v.updateGradient { try gemm(hiddenGradient, .transposed, x, .none, beta: 1, into: &$0) }
        try gemm(hiddenGradient, .none, lowRank.v.value, .none, beta: 1, into: &dx)
    }

    /// gate = σ(x·wᵀ + c), (batch, 1).
    private func computeGate(_ x: Matrix<Scalar>) throws {
        try gemm(x, .none, gateWeight!.value, .transposed, into: &gate)
        let c = gateBias!.value[0, 0]
        gate.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] = 1 / (1 + Scalar.exp(-(g[i] + c))) }
        }
    }

    /// d ← d − s over all elements.
    private func subtract(_ s: Matrix<Scalar>, from d: inout Matrix<Scalar>) {
        s.withUnsafeBufferPointer { sp in
            d.withUnsafeMutableBufferPointer { dp in
                Scalar.axpy(count: dp.count, alpha: -1, x: sp.baseAddress!, y: dp.baseAddress!)
            }
        }
    }
}
