@testable import Butterfly
import LowRank
import PixelflyCore
import RealModule
import Testing

/// PixelflyLinear against naive Double references, finite differences, and the init target.
@Suite("PixelflyLinear")
struct PixelflyTests {
    static func sigmoid(_ z: Double) -> Double { 1 / (1 + Double.exp(-z)) }

    /// y = x·Sᵀ + x·(UV)ᵀ + b, or the gated blend, computed element by element in Double from the
    /// layer's parameters (S from the mask test's own D ⊙ mask route).
    static func reference(_ layer: PixelflyLinear<Float>, _ x: Matrix<Float>, sparseDense: Matrix<Double>) throws -> Matrix<Double> {
        let xd = x.converted(to: Double.self)
        let s = try NaiveReference.gemm(xd, .none, sparseDense, .transposed)
        let h = try NaiveReference.gemm(xd, .none, layer.lowRank.v.value.converted(to: Double.self), .transposed)
        let l = try NaiveReference.gemm(h, .none, layer.lowRank.u.value.converted(to: Double.self), .transposed)
        var y = Matrix<Double>(rows: x.rows, cols: layer.outputFeatures)
        for i in 0..<x.rows {
            var g = 0.5
            if let w = layer.gateWeight, let c = layer.gateBias {
                var z = Double(c.value[0, 0])
                for k in 0..<x.cols { z += Double(x[i, k]) * Double(w.value[0, k]) }
                g = sigmoid(z)
            }
            for j in 0..<layer.outputFeatures {
                let combined = layer.combination == .sum ? s[i, j] + l[i, j] : (1 - g) * s[i, j] + g * l[i, j]
                y[i, j] = combined + Double(layer.bias?.value[0, j] ?? 0)
            }
        }
        return y
    }

    @Test(arguments: PixelflyCombination.allCases)
    func forwardMatchesReference(combination: PixelflyCombination) throws {
        var rng = SeededRandom(seed: 404)
        for trial in 0..<12 {
            let mask = try BlockSparseTests.randomMask(&rng)
            let rank = 1 + rng.index(below: min(mask.inputFeatures, mask.outputFeatures))
            let layer = try PixelflyLinear<Float>(mask: mask, rank: rank, bias: trial % 2 == 0, combination: combination, rng: &rng)
            if let w = layer.gateWeight, let c = layer.gateBias {
                try w.assign(Matrix(rows: 1, cols: mask.inputFeatures, initializer: .uniform(low: -0.5, high: 0.5), rng: &rng))
                c.withMutableValueElements { $0[0] = 0.3 }
            }
            let dense = Matrix<Float>(rows: mask.outputFeatures, cols: mask.inputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
            try layer.sparse.assignProjection(of: dense)
            let x = Matrix<Float>(rows: 1 + rng.index(below: 7), cols: mask.inputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let y = try layer(x)
            let expected = try Self.reference(layer, x, sparseDense: BlockSparseTests.masked(dense.converted(), mask))
            let error = compare(y, expected)
            #expect(error.maxAbs < 1e-5 * Double(mask.inputFeatures + rank), "trial \(trial) \(combination): \(error)")
            if combination == .sum {
                // A linear layer: denseWeight reproduces the map.
                let viaDense = try NaiveReference.gemm(x, .none, layer.denseWeight(), .transposed)
                var shifted = viaDense
                for i in 0..<x.rows { for j in 0..<shifted.cols { shifted[i, j] += Double(layer.bias?.value[0, j] ?? 0) } }
                #expect(compare(y, shifted).maxAbs < 1e-4)
            }
        }
    }

    /// The fused low-rank term across several kernel chunks: y and dx against W = S + UV, on
    /// both block-sparse backends (LIBXSMM fuses it per strip, OpenBLAS per chunk).
    @Test(arguments: BlockSparseBackend.allCases)
    func fusedSumSpansSeveralChunks(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 515)
        let batch = 2 * BlockSparseKernel.chunkRows + 21
        for (input, out) in [(16, 64), (64, 16)] {
            let layer = try PixelflyLinear<Float>(input, out, mask: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 2),
                                                  rank: 3, rng: &rng)
            layer.sparse.backend = backend
            let w = layer.denseWeight().converted(to: Double.self)
            let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<Float>(rows: batch, cols: out, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let y = try layer(x)
            var expected = try NaiveReference.gemm(x.converted(to: Double.self), .none, w, .transposed)
            for i in 0..<batch { for j in 0..<out { expected[i, j] += Double(layer.bias!.value[0, j]) } }
            #expect(compare(y, expected).maxAbs < 1e-4)
            var dx = Matrix<Float>(rows: 0, cols: 0)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            #expect(compare(dx, try NaiveReference.gemm(dy.converted(to: Double.self), .none, w, .none)).maxAbs < 1e-4)
        }
    }

    /// The low-rank products of `.sum` (h = x·Vᵀ and dh = dy·U per batch tile, dU += dyᵀ·h and
    /// dV += dhᵀ·x per feature chunk on LIBXSMM; `gemm` on OpenBLAS) against naive Double
    /// formulas, with short last tiles, a second batch chunk and short last feature chunks, at
    /// 1 and 2 threads, on both backends. Rank 100 cuts dU's batch chunks into several depth
    /// slices of unequal length (`UGradientKernels`: 37 and 34 rows in Float, 20 and 16 in
    /// Double, at 1 thread), rank 7 leaves them whole. Gradients accumulate: a second backward
    /// doubles them.
    @Test(arguments: BlockSparseBackend.allCases)
    func lowRankProductsMatchReference(backend: BlockSparseBackend) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        var rng = SeededRandom(seed: 525)
        for threads in [1, 2] {
            try TestThreadCount.set(threads)
            for (out, input) in [(144, 288), (288, 144)] {
                for rank in [7, 100] {
                    try checkLowRankProducts(Float.self, input, out, rank: rank, backend: backend, threads: threads, rng: &rng)
                }
                if threads == 1 {
                    try checkLowRankProducts(Double.self, input, out, rank: 100, backend: backend, threads: threads, rng: &rng)
                }
            }
        }
    }

    private func checkLowRankProducts<S: TensorScalar>(_: S.Type, _ input: Int, _ out: Int, rank: Int, backend: BlockSparseBackend,
                                                       threads: Int, rng: inout SeededRandom) throws {
        let label = "\(S.self), \(backend), \(threads) threads, \(input)→\(out), rank \(rank)"
        let layer = try PixelflyLinear<S>(input, out, mask: FlatButterflyConfiguration(butterflySize: 8, factors: 1, blockSize: 12),
                                          rank: rank, rng: &rng)
        layer.sparse.backend = backend
        let batch = XSMMKernelSet.maximumWeightGradientChunk + 44
        let x = Matrix<S>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<S>(rows: batch, cols: out, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let (xd, dyd) = (x.converted(to: Double.self), dy.converted(to: Double.self))
        let (u, v) = (layer.lowRank.u.value.converted(to: Double.self), layer.lowRank.v.value.converted(to: Double.self))
        let (w, bias) = (layer.denseWeight().converted(to: Double.self), layer.bias!.value.converted(to: Double.self))
        let h = try NaiveReference.gemm(xd, .none, v, .transposed)
        let dh = try NaiveReference.gemm(dyd, .none, u, .none)
        let dU = try NaiveReference.gemm(dyd, .transposed, h, .none)
        let dV = try NaiveReference.gemm(dh, .transposed, xd, .none)
        let y = try layer(x)
        var expected = try NaiveReference.gemm(xd, .none, w, .transposed)
        for i in 0..<batch { for j in 0..<out { expected[i, j] += bias[0, j] } }
        #expect(compare(y, expected).maxRel < 1e-5, "y, \(label)")
        layer.zeroGradients()
        var dx = Matrix<S>(rows: 0, cols: 0)
        for pass in 1...2 {
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            let scaled = { (m: Matrix<Double>) in m.map { $0 * Double(pass) } }
            #expect(compare(dx, try NaiveReference.gemm(dyd, .none, w, .none)).maxRel < 1e-5, "dx, \(label)")
            #expect(compare(layer.lowRank.u.gradient, scaled(dU)).maxRel < 1e-5, "dU, \(label), pass \(pass)")
            #expect(compare(layer.lowRank.v.gradient, scaled(dV)).maxRel < 1e-5, "dV, \(label), pass \(pass)")
        }
    }

    @Test(arguments: PixelflyCombination.allCases, BlockSparseBackend.allCases)
    func backwardMatchesFiniteDifferences(combination: PixelflyCombination, backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 505)
        let configs = [(64, 32, FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 8)),
                       (48, 96, FlatButterflyConfiguration(butterflySize: 8, factors: 1, blockSize: 12, shuffleSeed: 9))]
        for (out, input, config) in configs {
            for hasBias in [true, false] {
                let layer = try PixelflyLinear<Double>(input, out, mask: config, rank: 5, bias: hasBias, combination: combination, rng: &rng)
                layer.sparse.backend = backend
                if let w = layer.gateWeight { try w.assign(Matrix(rows: 1, cols: input, initializer: .normal(mean: 0, standardDeviation: 0.3), rng: &rng)) }
                let x = Matrix<Double>(rows: 6, cols: input, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
                let result = try gradientCheck(layer, input: x, samples: 30)
                #expect(result.worst < 1e-6, "\(combination) bias \(hasBias): \(result)")
                #expect(result.errors.count == 1 + layer.parameters.count)
            }
        }
    }

    /// Every row of the effective weight has E‖W_i‖² = 1/3 (a dense Kaiming-uniform layer's), for
    /// each distinct sparse block count of the 768×768 layout and both combinations.
    @Test(arguments: PixelflyCombination.allCases)
    func initialisationMatchesDenseVariance(combination: PixelflyCombination) throws {
        var rng = SeededRandom(seed: 606)
        let mask = try FlatButterflyMask(outputFeatures: 768, inputFeatures: 768, configuration: FlatButterflyConfiguration())
        let layer = try PixelflyLinear<Double>(mask: mask, rank: 64, combination: combination, rng: &rng)
        let effective = layer.denseWeight()
        let sparse = layer.sparse.denseWeight()
        var byCount: [Int: [Double]] = [:]
        for i in 0..<768 {
            let count = sparse.row(i).filter { $0 != 0 }.count
            byCount[count, default: []].append(effective.row(i).reduce(0) { $0 + $1 * $1 })
        }
        #expect(byCount.count >= 2)
        for (count, norms) in byCount {
            let mean = norms.reduce(0, +) / Double(norms.count)
            #expect(abs(mean - 1.0 / 3) < 0.04 / 3, "\(combination), rows with \(count) sparse weights: mean ‖W_i‖² \(mean)")
        }
    }

    @Test(arguments: PixelflyCombination.allCases, BlockSparseBackend.allCases)
    func steadyStateIsAllocationFree(combination: PixelflyCombination, backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 707)
        let layer = try PixelflyLinear<Float>(128, 256, mask: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 16),
                                              rank: 8, combination: combination, rng: &rng)
        layer.sparse.backend = backend
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state Pixelfly step (\(combination), \(backend))")
    }

    @Test func badInputThrows() throws {
        var rng = SeededRandom(seed: 1)
        #expect(throws: FlatButterflyMaskError.self) {
            try PixelflyLinear<Float>(100, 64, mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8), rank: 4, rng: &rng)
        }
        #expect(throws: ShapeError.self) {
            try PixelflyLinear<Float>(64, 64, mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8), rank: 65, rng: &rng)
        }
        let layer = try PixelflyLinear<Float>(64, 32, mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8), rank: 4, rng: &rng)
        #expect(throws: ShapeError.self) { try layer(Matrix<Float>(rows: 2, cols: 63)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 3, cols: 64), outputGradient: Matrix(rows: 3, cols: 32), inputGradient: &dx)
        }
    }
}
