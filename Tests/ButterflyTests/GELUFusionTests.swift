@testable import Butterfly
import CVectorKernels
import PixelflyCore
import PixelflyModels
import Testing

/// GELU fused into the block-sparse and Pixelfly kernels (`GELUFusingLinear`, `OutputEpilogue`)
/// against naive Double formulas, and against the same layer's unfused calls: with batch tails,
/// rows and input columns that no block covers, 1 and 2 threads, strip groups of one strip each
/// (`BlockStripPlan.stripGroups`), and inside an `MLPBlock`.
@Suite("GELU fused into the sparse kernels")
struct GELUFusionTests {
    /// 8 → 12 with block rows 4..<8 uncovered (forward plan), and 12 → 8 with input columns
    /// 4..<8 uncovered (input-gradient plan), besides flat butterfly masks.
    static func layouts() throws -> [BlockSparseLayout] {
        [try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true]),
         try BlockSparseLayout(rows: 8, cols: 12, blockSize: 4, blocks: [true, false, false, true, false, true]),
         try BlockSparseLayout(mask: FlatButterflyMask(outputFeatures: 96, inputFeatures: 48,
                                                       configuration: FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)))]
    }

    /// Checks one fused layer: forward y and a = gelu(y) against x·Wᵀ + b in Double, backward dx
    /// against (dy·W) ⊙ gelu′(h) in Double for a layer input x = gelu(h), and every parameter
    /// gradient against the unfused backward's (the same kernels, bit for bit).
    static func checkFusedLayer(_ layer: any GELUFusingLinear<Float>, batch: Int, label: String, rng: inout SeededRandom) throws {
        #expect(layer.fusesGELU(batch: batch), "\(label): LIBXSMM should fuse at batch \(batch)")
        let x = Matrix<Float>(rows: batch, cols: layer.inputFeatures, initializer: .uniform(low: -2, high: 2), rng: &rng)
        var (y, activated) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        try layer.forward(x, into: &y, gelu: &activated)
        let expected = try BlocksReference.linear(x, layer)
        #expect(compare(y, expected).maxRel < 1e-5, "\(label): y")
        #expect(compare(activated, expected.map(BlocksReference.gelu)).maxAbs < 2e-5, "\(label): gelu(y)")

        // Backward of the fused layer, as fc2 of an MLP: its input is gelu(h) for some h.
        let h = Matrix<Float>(rows: batch, cols: layer.inputFeatures, initializer: .uniform(low: -3, high: 3), rng: &rng)
        let input = try Matrix<Float>(rows: batch, cols: layer.inputFeatures,
                                      storage: h.storage.map { Float(BlocksReference.gelu(Double($0))) })
        let dy = Matrix<Float>(rows: batch, cols: layer.outputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var output = Matrix<Float>(rows: 0, cols: 0)
        try layer.forward(input, into: &output)
        layer.zeroGradients()
        var dx = Matrix<Float>(rows: 0, cols: 0)
        try layer.backward(input: input, outputGradient: dy, geluInput: h, inputGradient: &dx)
        let fusedGradients = layer.parameters.map(\.gradient)
        var expectedDx = try NaiveReference.gemm(dy.converted(to: Double.self), .none, layer.denseWeight().converted(to: Double.self), .none)
        for i in 0..<batch { for j in 0..<layer.inputFeatures { expectedDx[i, j] *= BlocksReference.geluDerivative(Double(h[i, j])) } }
        #expect(compare(dx, expectedDx).maxRel < 1e-5, "\(label): dx = (dy·W) ⊙ gelu′(h)")

        try layer.forward(input, into: &output)
        layer.zeroGradients()
        try layer.backward(input: input, outputGradient: dy, inputGradient: &dx)
        for (fused, plain) in zip(fusedGradients, layer.parameters.map(\.gradient)) {
            #expect(fused.storage == plain.storage, "\(label): parameter gradients of the fused and unfused backward")
        }

        // The same with GELU's derivative kept by the forward and scaled by in the backward. The
        // two forwards run under one thread count (it decides where the epilogue's pieces end).
        let (plainActivated, derivative, keptActivated) = try TestThreadCount.stable {
            var (plainY, plain) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            var (derivative, kept) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            try layer.forward(x, into: &plainY, gelu: &plain)
            try layer.forward(x, geluDerivative: &derivative, gelu: &kept)
            return (plain, derivative, kept)
        }
        #expect(keptActivated.storage == plainActivated.storage, "\(label): gelu(y) of the forward that keeps the derivative")
        #expect(compare(derivative, expected.map(BlocksReference.geluDerivative)).maxAbs < 1e-4, "\(label): gelu′(y)")
        var hDerivative = h
        hDerivative.withUnsafeMutableBufferPointer { p in
            var scratch = [Float](repeating: 0, count: p.count)
            pixelfly_gelu_forward_derivative_rows_f32(p.baseAddress!, &scratch, 1, p.count, p.count)
        }
        try layer.forward(input, into: &output)
        layer.zeroGradients()
        try layer.backward(input: input, outputGradient: dy, geluDerivative: hDerivative, inputGradient: &dx)
        #expect(compare(dx, expectedDx).maxRel < 1e-5, "\(label): dx = (dy·W) ⊙ the given gelu′(h)")
        for (scaled, plain) in zip(layer.parameters.map(\.gradient), fusedGradients) {
            #expect(scaled.storage == plain.storage, "\(label): parameter gradients of the two fused backwards")
        }
    }

    @Test(arguments: [1, 2])
    func blockSparseLayersMatchReference(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        var rng = SeededRandom(seed: 2_612)
        for layout in try Self.layouts() {
            for batch in [1, 37, 150] {
                // Strip groups of the default size (one group at these sizes) and of one strip each.
                for groupBytes in [XSMMKernelSet.stripGroupBytes, 1] {
                    let layer = try BlockSparseLinear<Float>(layout: layout, rng: &rng)
                    layer.backend = .libxsmm
                    layer.stripGroupBytes = groupBytes
                    #expect(layer.xsmmStripGroupCounts(batch: batch)?.forward == (groupBytes == 1 ? layer.forwardPlan.strips.count : 1))
                    try Self.checkFusedLayer(layer, batch: batch, label: "block-sparse \(layout.cols)→\(layout.rows), batch \(batch), "
                        + "\(threads) threads, groups of \(groupBytes) bytes", rng: &rng)
                }
            }
        }
    }

    @Test(arguments: [1, 2])
    func pixelflyLayersMatchReference(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        var rng = SeededRandom(seed: 2_613)
        let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)
        for (input, output) in [(48, 96), (96, 48)] {
            for bias in [true, false] {
                for batch in [1, 37, 300] {
                    for groupBytes in [XSMMKernelSet.stripGroupBytes, 1] {
                        let layer = try PixelflyLinear<Float>(input, output, mask: configuration, rank: 5, bias: bias, rng: &rng)
                        layer.sparse.backend = .libxsmm
                        layer.sparse.stripGroupBytes = groupBytes
                        try Self.checkFusedLayer(layer, batch: batch, label: "Pixelfly \(input)→\(output), bias \(bias), batch \(batch), "
                            + "\(threads) threads, groups of \(groupBytes) bytes", rng: &rng)
                    }
                }
            }
        }
    }

    /// An MLP of Pixelfly layers takes the fused path on LIBXSMM and the separate GELU pass on
    /// OpenBLAS; output, input gradient and every parameter gradient agree.
    @Test func mlpBlockFusedEqualsUnfused() throws {
        var rng = SeededRandom(seed: 2_614)
        let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)
        let factory: LinearFactory<Float> = { input, output, name, rng in
            try PixelflyLinear<Float>(input, output, mask: configuration, rank: 6, name: name, rng: &rng)
        }
        let mlp = try MLPBlock<Float>(features: 48, hiddenFeatures: 192, linear: factory, rng: &rng)
        let layers = [mlp.fc1, mlp.fc2].map { $0 as! PixelflyLinear<Float> }
        let x = Matrix<Float>(rows: 70, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let dy = Matrix<Float>(rows: 70, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        func step(_ backend: BlockSparseBackend) throws -> [Matrix<Float>] {
            for layer in layers { layer.sparse.backend = backend }
            #expect(layers.allSatisfy { $0.fusesGELU(batch: 70) } == (backend == .libxsmm))
            var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            try mlp.forward(x, into: &y)
            mlp.zeroGradients()
            try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
            return [y, dx] + mlp.parameters.map(\.gradient)
        }
        let (fused, separate) = (try step(.libxsmm), try step(.openBLAS))
        for (index, (a, b)) in zip(fused, separate).enumerated() {
            #expect(compare(a, b.converted(to: Double.self)).maxRel < 1e-5, "result \(index) (y, dx, then the parameter gradients)")
        }
    }

    /// fc2's backend may change between an MLP's forward and backward (the forward kept h or
    /// gelu′(h) according to the backends then): every pair of fc2 backends at forward and at
    /// backward, with fc1 fused or not, gives the gradients of a run without the change.
    @Test(arguments: [BlockSparseBackend.libxsmm, .openBLAS])
    func mlpBlockBackwardFollowsABackendChangeAfterTheForward(fc1Backend: BlockSparseBackend) throws {
        let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)
        let factory: LinearFactory<Float> = { input, output, name, rng in
            try PixelflyLinear<Float>(input, output, mask: configuration, rank: 6, name: name, rng: &rng)
        }
        var data = SeededRandom(seed: 2_617)
        let x = Matrix<Float>(rows: 20, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        let dy = Matrix<Float>(rows: 20, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        func gradients(fc2AtForward: BlockSparseBackend, fc2AtBackward: BlockSparseBackend) throws -> [Matrix<Float>] {
            var rng = SeededRandom(seed: 2_616)
            let mlp = try MLPBlock<Float>(features: 48, hiddenFeatures: 192, linear: factory, rng: &rng)
            let (fc1, fc2) = (mlp.fc1 as! PixelflyLinear<Float>, mlp.fc2 as! PixelflyLinear<Float>)
            fc1.sparse.backend = fc1Backend
            fc2.sparse.backend = fc2AtForward
            var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            try mlp.forward(x, into: &y)
            fc2.sparse.backend = fc2AtBackward
            try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
            return [dx] + mlp.parameters.map(\.gradient)
        }
        for atForward in [BlockSparseBackend.libxsmm, .openBLAS] {
            for atBackward in [BlockSparseBackend.libxsmm, .openBLAS] {
                let changed = try gradients(fc2AtForward: atForward, fc2AtBackward: atBackward)
                let unchanged = try gradients(fc2AtForward: atBackward, fc2AtBackward: atBackward)
                for (index, (a, b)) in zip(changed, unchanged).enumerated() {
                    #expect(compare(a, b.converted(to: Double.self)).maxRel < 1e-5,
                            "fc1 \(fc1Backend), fc2 \(atForward) → \(atBackward): result \(index) (dx, then the parameter gradients)")
                }
            }
        }
    }

    /// Where the kernels cannot fuse, `fusesGELU` says so and the fused calls throw instead of
    /// computing something else.
    @Test func refusesWhereItCannotFuse() throws {
        var rng = SeededRandom(seed: 2_615)
        let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)
        let x = Matrix<Float>(rows: 4, cols: 48, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var (y, a) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))

        let openBLAS = try PixelflyLinear<Float>(48, 96, mask: configuration, rank: 4, rng: &rng)
        openBLAS.sparse.backend = .openBLAS
        #expect(!openBLAS.fusesGELU(batch: 4))
        #expect(throws: ConfigurationError.self) { try openBLAS.forward(x, into: &y, gelu: &a) }
        #expect(throws: ConfigurationError.self) { try openBLAS.forward(x, geluDerivative: &y, gelu: &a) }

        let gated = try PixelflyLinear<Float>(48, 96, mask: configuration, rank: 4, combination: .gated, rng: &rng)
        gated.sparse.backend = .libxsmm
        #expect(!gated.fusesGELU(batch: 4))
        #expect(throws: ConfigurationError.self) { try gated.forward(x, into: &y, gelu: &a) }

        let double = try PixelflyLinear<Double>(48, 96, mask: configuration, rank: 4, rng: &rng)
        double.sparse.backend = .libxsmm
        #expect(!double.fusesGELU(batch: 4))

        let layer = try PixelflyLinear<Float>(48, 96, mask: configuration, rank: 4, rng: &rng)
        layer.sparse.backend = .libxsmm
        try layer.forward(x, into: &y, gelu: &a)
        let dy = Matrix<Float>(rows: 4, cols: 96)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: x, outputGradient: dy, geluInput: Matrix<Float>(rows: 4, cols: 47), inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) {
            try layer.backward(input: x, outputGradient: dy, geluDerivative: Matrix<Float>(rows: 3, cols: 48), inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) { try layer.forward(Matrix<Float>(rows: 4, cols: 40), into: &y, gelu: &a) }
    }
}
