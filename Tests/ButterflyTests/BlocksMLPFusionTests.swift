import Butterfly
import Foundation
import PixelflyCore
import PixelflyModels
import Testing

/// The MLP block with GELU fused into fc1's forward and its derivative into fc2's backward
/// (`RowEpilogueLinear`), on dense, block-sparse and Pixelfly linears, both block-sparse
/// backends, 1 and 2 threads: against naive Double formulas, against the unfused passes,
/// against finite differences, and allocation-free in steady state.
@Suite("Blocks: MLP with fused GELU")
struct BlocksMLPFusionTests {
    enum Kind: CaseIterable, Sendable {
        case dense, blockSparseOpenBLAS, blockSparseLIBXSMM, pixelflyOpenBLAS, pixelflyLIBXSMM
    }

    /// 144 → 288 → 144 (16·12 … blocks of 12) for the Float checks, 16 → 64 → 16 for finite differences.
    static func factory<S: TensorScalar>(_ kind: Kind, small: Bool = false) -> LinearFactory<S> {
        let mask = small ? FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 2)
                         : FlatButterflyConfiguration(butterflySize: 8, factors: 1, blockSize: 12)
        return { input, output, name, rng in
            switch kind {
            case .dense:
                return try DenseLinear<S>(input, output, name: name, rng: &rng)
            case .blockSparseOpenBLAS, .blockSparseLIBXSMM:
                let layer = try BlockSparseLinear<S>(mask: FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration: mask),
                                                     name: name, rng: &rng)
                layer.backend = kind == .blockSparseLIBXSMM ? .libxsmm : .openBLAS
                return layer
            case .pixelflyOpenBLAS, .pixelflyLIBXSMM:
                let layer = try PixelflyLinear<S>(input, output, mask: mask, rank: 5, name: name, rng: &rng)
                layer.sparse.backend = kind == .pixelflyLIBXSMM ? .libxsmm : .openBLAS
                return layer
            }
        }
    }

    static func geluDerivative(_ x: Double) -> Double {
        let c = (2 / Double.pi).squareRoot(), a = 0.044715
        let t = tanh(c * (x + a * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * a * x * x)
    }

    /// Fused y and dx against Double formulas, and y, dx and every parameter gradient against the
    /// unfused passes of an identical block. 600 rows: more than one 512-row chunk on one thread.
    @Test(arguments: Kind.allCases)
    func fusedMatchesReferenceAndUnfused(kind: Kind) throws {
        let saved = ComputeThreads.count
        defer { try? ComputeThreads.setCount(saved) }
        for threads in [1, 2] {
            try ComputeThreads.setCount(threads)
            var rng = SeededRandom(seed: 1100), twin = SeededRandom(seed: 1100)
            let fused = try MLPBlock<Float>(features: 144, hiddenFeatures: 288, linear: Self.factory(kind), rng: &rng)
            let unfused = try MLPBlock<Float>(features: 144, hiddenFeatures: 288, linear: Self.factory(kind), rng: &twin)
            unfused.fusesActivation = false
            var data = SeededRandom(seed: 1101)
            let x = Matrix<Float>(rows: 600, cols: 144, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
            let dy = Matrix<Float>(rows: 600, cols: 144, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
            var (y, yUnfused, dx, dxUnfused) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0),
                                                Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            for _ in 0..<2 { // the second step reuses the buffers
                try fused.forward(x, into: &y)
                try fused.backward(input: x, outputGradient: dy, inputGradient: &dx)
                try unfused.forward(x, into: &yUnfused)
                try unfused.backward(input: x, outputGradient: dy, inputGradient: &dxUnfused)
            }
            // Double: h = x·W₁ᵀ + b₁, y = gelu(h)·W₂ᵀ + b₂, dx = (gelu′(h) ⊙ dy·W₂)·W₁.
            let h = try BlocksReference.linear(x, fused.fc1)
            let yReference = try BlocksReference.linear(h.map(BlocksReference.gelu).converted(to: Float.self), fused.fc2)
            var da = try NaiveReference.gemm(dy.converted(to: Double.self), .none, fused.fc2.denseWeight().converted(to: Double.self), .none)
            for i in 0..<da.rows { for j in 0..<da.cols { da[i, j] *= Self.geluDerivative(h[i, j]) } }
            let dxReference = try NaiveReference.gemm(da, .none, fused.fc1.denseWeight().converted(to: Double.self), .none)
            let label = "\(kind), \(threads) thread(s)"
            #expect(compare(y, yReference).maxAbs < 1e-3, "\(label): \(compare(y, yReference))")
            #expect(compare(dx, dxReference).maxAbs < 1e-3, "\(label): \(compare(dx, dxReference))")
            #expect(compare(y, yUnfused.converted(to: Double.self)).maxAbs < 1e-4, "\(label)")
            #expect(compare(dx, dxUnfused.converted(to: Double.self)).maxAbs < 1e-4, "\(label)")
            for (p, q) in zip(fused.parameters, unfused.parameters) {
                let error = compare(p.gradient, q.gradient.converted(to: Double.self))
                let scale = max(1, q.gradient.storage.map { abs(Double($0)) }.max() ?? 0)
                #expect(error.maxAbs < 1e-4 * scale, "\(label), \(p.name): \(error)")
            }
        }
    }

    /// Fused gradients of a Double block against central finite differences.
    @Test(arguments: Kind.allCases)
    func fusedGradientMatchesFiniteDifferences(kind: Kind) throws {
        var rng = SeededRandom(seed: 1102)
        let mlp = try MLPBlock<Double>(features: 16, hiddenFeatures: 64, linear: Self.factory(kind, small: true), rng: &rng)
        let x = Matrix<Double>(rows: 5, cols: 16, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(mlp, input: x)
        #expect(result.worst < 1e-6, "\(kind): \(result)")
    }

    /// A fused forward + backward allocates nothing once the buffers have seen the shapes.
    @Test(arguments: Kind.allCases)
    func fusedStepIsAllocationFree(kind: Kind) throws {
        var rng = SeededRandom(seed: 1103)
        let mlp = try MLPBlock<Float>(features: 144, hiddenFeatures: 288, linear: Self.factory(kind), rng: &rng)
        let x = Matrix<Float>(rows: 40, cols: 144, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let dy = Matrix<Float>(rows: 40, cols: 144, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        func step() throws {
            try mlp.forward(x, into: &y)
            try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
        }
        try ComputeThreads.serially { try step() }
        let count = try countAllocations { try step() }
        #expect(count == 0, "\(kind): \(count) allocations")
    }
}
