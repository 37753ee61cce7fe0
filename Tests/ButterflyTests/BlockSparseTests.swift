@testable import Butterfly
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore
import CVectorKernels
import Testing

/// Block-sparse products against a naive Double product with the dense masked weight.
@Suite("BlockSparseLinear")
struct BlockSparseTests {
    /// A random valid flat butterfly configuration with small sizes.
    static func randomMask(_ rng: inout SeededRandom) throws -> FlatButterflyMask {
        let bSize = [2, 4, 8][rng.index(below: 3)]
        let factors = 1 + rng.index(below: bSize.trailingZeroBitCount)
        let block = [4, 8][rng.index(below: 2)]
        let multiple = leastCommonMultiple(bSize, block)
        let out = multiple * (1 + rng.index(below: 6))
        let input = multiple * (1 + rng.index(below: 6))
        let global = rng.index(below: 3) == 0 ? rng.index(below: min(out, input) / 2 + 1) : 0
        let shuffle: UInt64? = rng.index(below: 2) == 0 ? UInt64(rng.index(below: 1000)) : nil
        return try FlatButterflyMask(outputFeatures: out, inputFeatures: input, configuration: FlatButterflyConfiguration(
            butterflySize: bSize, factors: factors, blockSize: block, globalSize: global, shuffleSeed: shuffle))
    }

    /// D ⊙ mask, written from the mask's own block test (independent of the packed layout).
    static func masked(_ dense: Matrix<Double>, _ mask: FlatButterflyMask) -> Matrix<Double> {
        let b = mask.configuration.blockSize
        var result = dense
        for i in 0..<dense.rows { for j in 0..<dense.cols where !mask.blockIsSet(i / b, j / b) { result[i, j] = 0 } }
        return result
    }

    /// Both kernels: LIBXSMM (the default) and the OpenBLAS fallback.
    @Test(arguments: BlockSparseBackend.allCases)
    func forwardAndBackwardMatchDenseMaskedReference(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 2024)
        var sawGather = false, sawAccumulate = false
        for trial in 0..<40 {
            let mask = try Self.randomMask(&rng)
            let hasBias = trial % 3 != 0
            let layer = try BlockSparseLinear<Float>(mask: mask, bias: hasBias, rng: &rng)
            layer.backend = backend
            for group in layer.layout.groups where group.runs.count > 1 {
                if BlockSparseKernel.gathers(group) { sawGather = true } else { sawAccumulate = true }
            }
            let dense = Matrix<Float>(rows: mask.outputFeatures, cols: mask.inputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
            try layer.assignProjection(of: dense)
            let reference = Self.masked(dense.converted(), mask)
            let batch = 1 + rng.index(below: 9)
            let x = Matrix<Float>(rows: batch, cols: mask.inputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<Float>(rows: batch, cols: mask.outputFeatures, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let tolerance = 1e-5 * Double(mask.inputFeatures + mask.outputFeatures + batch)

            var y = Matrix<Float>(rows: 3, cols: 3, repeating: 7) // stale contents must not leak
            try layer.forward(x, into: &y)
            var expectedY = try NaiveReference.gemm(x.converted(to: Double.self), .none, reference, .transposed)
            if let bias = layer.bias {
                for i in 0..<batch { for j in 0..<mask.outputFeatures { expectedY[i, j] += Double(bias.value[0, j]) } }
            }
            #expect(compare(y, expectedY).maxAbs < tolerance, "forward trial \(trial): \(compare(y, expectedY))")

            layer.zeroGradients()
            var dx = Matrix<Float>(rows: 2, cols: 2, repeating: 5)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            let expectedDx = try NaiveReference.gemm(dy.converted(to: Double.self), .none, reference, .none)
            #expect(compare(dx, expectedDx).maxAbs < tolerance, "dx trial \(trial): \(compare(dx, expectedDx))")
            let fullGradient = try NaiveReference.gemm(dy.converted(to: Double.self), .transposed, x.converted(to: Double.self), .none)
            let expectedDW = Self.masked(fullGradient, mask)
            let dW = layer.denseMatrix(fromPacked: layer.weight.gradient)
            #expect(compare(dW, expectedDW).maxAbs < tolerance, "dW trial \(trial): \(compare(dW, expectedDW))")
            if let bias = layer.bias {
                var expectedDb = Matrix<Double>(rows: 1, cols: mask.outputFeatures)
                for i in 0..<batch { for j in 0..<mask.outputFeatures { expectedDb[0, j] += Double(dy[i, j]) } }
                #expect(compare(bias.gradient, expectedDb).maxAbs < tolerance)
            }
        }
        #expect(sawGather && sawAccumulate, "both forward strategies must be exercised")
    }

    /// A batch longer than the kernel's row chunk (and several weight-gradient chunks, the last one
    /// short), both forward strategies, with and without bias.
    @Test(arguments: BlockSparseBackend.allCases)
    func batchesSpanningSeveralChunksMatchReference(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 55)
        let batch = 2 * BlockSparseKernel.chunkRows + 37
        for (out, input) in [(64, 16), (16, 64)] {
            let mask = try FlatButterflyMask(outputFeatures: out, inputFeatures: input,
                                             configuration: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 2))
            for hasBias in [false, true] {
                let layer = try BlockSparseLinear<Float>(mask: mask, bias: hasBias, rng: &rng)
                layer.backend = backend
                let reference = Self.masked(layer.denseWeight().converted(), mask)
                let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let dy = Matrix<Float>(rows: batch, cols: out, initializer: .uniform(low: -1, high: 1), rng: &rng)
                let y = try layer(x)
                var expected = try NaiveReference.gemm(x.converted(to: Double.self), .none, reference, .transposed)
                for i in 0..<batch { for j in 0..<out { expected[i, j] += Double(layer.bias?.value[0, j] ?? 0) } }
                #expect(compare(y, expected).maxAbs < 1e-4)
                var dx = Matrix<Float>(rows: 0, cols: 0)
                try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
                let expectedDx = try NaiveReference.gemm(dy.converted(to: Double.self), .none, reference, .none)
                #expect(compare(dx, expectedDx).maxAbs < 1e-4)
                let expectedDW = Self.masked(try NaiveReference.gemm(dy.converted(to: Double.self), .transposed, x.converted(to: Double.self), .none), mask)
                #expect(compare(layer.denseMatrix(fromPacked: layer.weight.gradient), expectedDW).maxAbs < 1e-3)
                if let bias = layer.bias {
                    // Summed chunk by chunk with the weight gradient on LIBXSMM (short last chunk).
                    var expectedDb = Matrix<Double>(rows: 1, cols: out)
                    for i in 0..<batch { for j in 0..<out { expectedDb[0, j] += Double(dy[i, j]) } }
                    #expect(compare(bias.gradient, expectedDb).maxAbs < 1e-3)
                }
            }
        }
    }

    @Test(arguments: BlockSparseBackend.allCases)
    func backwardMatchesFiniteDifferences(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 77)
        let configs = [(64, 32, FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8)),
                       (48, 96, FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 12, globalSize: 12, shuffleSeed: 3))]
        for (out, input, config) in configs {
            let mask = try FlatButterflyMask(outputFeatures: out, inputFeatures: input, configuration: config)
            for hasBias in [true, false] {
                let layer = try BlockSparseLinear<Double>(mask: mask, bias: hasBias, rng: &rng)
                layer.backend = backend
                let x = Matrix<Double>(rows: 5, cols: input, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
                let result = try gradientCheck(layer, input: x, samples: 40)
                #expect(result.worst < 1e-6, "\(result)")
            }
        }
    }

    /// A layout with an empty block row: its outputs are 0 (or the bias), its gradients 0.
    @Test(arguments: BlockSparseBackend.allCases)
    func emptyBlockRowsGiveZeroOrBias(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 8)
        let layout = try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true])
        #expect(layout.uncoveredRows == [4..<8])
        for hasBias in [false, true] {
            let layer = try BlockSparseLinear<Double>(layout: layout, bias: hasBias, rng: &rng)
            layer.backend = backend
            let x = Matrix<Double>(rows: 3, cols: 8, initializer: .uniform(low: -1, high: 1), rng: &rng)
            var y = Matrix<Double>(rows: 3, cols: 12, repeating: 9)
            try layer.forward(x, into: &y)
            for i in 0..<3 { for j in 4..<8 { #expect(y[i, j] == (layer.bias.map { $0.value[0, j] } ?? 0)) } }
            let result = try gradientCheck(layer, input: x)
            #expect(result.worst < 1e-6, "\(result)")
        }
    }

    /// Every row carries the dense layer's E‖W_i‖² = 1/3, including rows of the 768×768 layout
    /// whose block counts differ (the reference scales them in the wrong row order).
    @Test func initialisationMatchesDenseRowVariance() throws {
        var rng = SeededRandom(seed: 31)
        let mask = try FlatButterflyMask(outputFeatures: 768, inputFeatures: 768, configuration: FlatButterflyConfiguration())
        let layer = try BlockSparseLinear<Double>(mask: mask, rng: &rng)
        let dense = layer.denseWeight()
        var sums: [Int: (Double, Int)] = [:]
        for i in 0..<768 {
            let row = dense.row(i)
            let count = row.filter { $0 != 0 }.count
            let norm = row.reduce(0) { $0 + $1 * $1 }
            sums[count, default: (0, 0)].0 += norm
            sums[count, default: (0, 0)].1 += 1
        }
        #expect(sums.count >= 2, "the layout must have rows with different counts")
        for (count, (total, rows)) in sums {
            let mean = total / Double(rows)
            #expect(abs(mean - 1.0 / 3) < 0.03 / 3, "rows with \(count) weights: mean ‖W_i‖² \(mean)")
        }
    }

    @Test(arguments: BlockSparseBackend.allCases)
    func steadyStateIsAllocationFree(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 4)
        let mask = try FlatButterflyMask(outputFeatures: 256, inputFeatures: 128,
                                         configuration: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 16))
        let layer = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        layer.backend = backend
        #expect(layer.layout.groups.contains { BlockSparseKernel.gathers($0) })
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state block-sparse step")
    }

    /// LIBXSMM generates kernels on every x86-64 CPU these tests run on; large batches use it
    /// where its code is as wide as OpenBLAS's kernels: AVX-512 on both sides, AVX2 on both
    /// (`LIBXSMM_TARGET=hsw` with `OPENBLAS_CORETYPE=Haswell`) or AVX on both (`snb` with
    /// `Sandybridge`); not SSE on both (`wsm` with `Nehalem`). `OPENBLAS_CORETYPE=Haswell` alone
    /// on an AVX-512 CPU leaves LIBXSMM wider than OpenBLAS: the OpenBLAS kernel then. A new layer
    /// pins no backend and runs batches below `libxsmmMinimumBatch` on the OpenBLAS kernel.
    @Test func defaultBackendFollowsTheLIBXSMMTarget() throws {
        #expect(BlockSparseBackend.libxsmmAvailable(for: Float.self), "LIBXSMM target \(BlockSparseBackend.libxsmmTarget)")
        #expect(BlockSparseBackend.libxsmmAvailable(for: Double.self))
        let core = OpenBLASRuntime.coreName
        let target = BlockSparseBackend.libxsmmTarget
        let sameWidth = ["SkylakeX", "Cooperlake", "SapphireRapids"].contains(core) ? BlockSparseBackend.libxsmmTargetsAVX512
            : ["Haswell", "Zen"].contains(core) ? target == "hsw"
            : core == "Sandybridge" && target == "snb"
        let expected: BlockSparseBackend = sameWidth ? .libxsmm : .openBLAS
        #expect(BlockSparseBackend.preferred(for: Float.self) == expected, "LIBXSMM target \(BlockSparseBackend.libxsmmTarget), OpenBLAS \(core)")
        #expect(BlockSparseBackend.preferred(for: Double.self) == expected)
        #expect(["generic", "wsm", "snb", "hsw", "knl", "knm"].contains(target) == !BlockSparseBackend.libxsmmTargetsAVX512, "LIBXSMM target \(target)")
        #expect(BlockSparseBackend.libxsmmTargetsAVX2 == (target == "hsw"))
        #expect(BlockSparseBackend.libxsmmTargetsAVXOnly == (target == "snb"))
        var rng = SeededRandom(seed: 3)
        let mask = try FlatButterflyMask(outputFeatures: 64, inputFeatures: 32,
                                         configuration: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8))
        let layer = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        #expect(layer.backend == nil)
        let minimum = BlockSparseBackend.libxsmmMinimumBatch
        #expect(layer.backend(forBatch: minimum) == expected)
        #expect(layer.backend(forBatch: minimum - 1) == .openBLAS)
        layer.backend = .libxsmm
        #expect(layer.backend(forBatch: 1) == .libxsmm)
        // Matching LIBXSMM to OpenBLAS changes nothing where a target was chosen or OpenBLAS runs
        // AVX-512 (where it would change the target, this process's other tests would see it).
        if getenv("LIBXSMM_TARGET") != nil || OpenBLASRuntime.usesAVX512Kernels || !OpenBLASRuntime.usesAVX2Kernels {
            #expect(!BlockSparseBackend.matchLIBXSMMToOpenBLAS())
            #expect(BlockSparseBackend.libxsmmTarget == target)
        }
    }

    /// A layer with no pinned backend gives the reference result on both sides of
    /// `libxsmmMinimumBatch`, takes the LIBXSMM path only from there up (where `preferred` picks
    /// it; GELU fuses only on that path), and its steady state allocates nothing on either side.
    @Test func automaticBackendSwitchesAtTheMinimumBatch() throws {
        var rng = SeededRandom(seed: 31)
        let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 8)
        let layer = try PixelflyLinear<Float>(64, 32, mask: configuration, rank: 4, rng: &rng)
        #expect(layer.sparse.backend == nil)
        let minimum = BlockSparseBackend.libxsmmMinimumBatch
        for batch in [minimum - 1, minimum] {
            let x = Matrix<Float>(rows: batch, cols: 64, initializer: .uniform(low: -1, high: 1), rng: &rng)
            var y = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &y)
            let expected = try NaiveReference.gemm(x.converted(to: Double.self), .none, layer.denseWeight().converted(to: Double.self), .transposed)
            var error = 0.0
            for i in 0..<batch {
                for j in 0..<32 { error = max(error, abs(Double(y[i, j]) - expected[i, j] - Double(layer.bias!.value[0, j]))) }
            }
            #expect(error < 1e-4, "batch \(batch)")
            let onLIBXSMM = layer.sparse.backend(forBatch: batch) == .libxsmm
            #expect(onLIBXSMM == (batch >= minimum && BlockSparseBackend.preferred(for: Float.self) == .libxsmm))
            #expect(layer.fusesGELU(batch: batch) == (onLIBXSMM && OutputEpilogue<Float>.isAvailable))
            let count = try steadyStateStepAllocations(layer, rows: batch, rng: &rng)
            #expect(count == 0, "\(count) allocations in a steady-state step at batch \(batch)")
        }
    }
}
