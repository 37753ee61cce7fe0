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

    /// Tiles and strips of every size at once: a batch with a short last tile and a short last
    /// weight-gradient chunk, at 1 and 2 threads, strips of several heights (b = 48 as in the
    /// default Mixer), both orientations (3 and 12 column tiles share each transposed dy block of
    /// the weight gradient), the LIBXSMM result against
    /// the OpenBLAS one (itself checked against the Double reference). Under AVX2 the 768 × 3072
    /// operator's strips are 24 rows high: they run on LIBXSMM and on the hand-written
    /// `pixelfly_strip24_f32` (`BlockSparseBackend.handWrittenStrip24`), both checked.
    @Test(arguments: [1, 2], [(768, 3072), (3072, 768)])
    func libxsmmMatchesOpenBLASAtMixerShapes(threads: Int, shape: (input: Int, output: Int)) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        for handWritten in [false, true] { try checkMixerShape(shape, handWritten: handWritten) }
    }

    private func checkMixerShape(_ shape: (input: Int, output: Int), handWritten: Bool) throws {
        var rng = SeededRandom(seed: 90)
        let mask = try FlatButterflyMask(outputFeatures: shape.output, inputFeatures: shape.input,
                                         configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 48))
        let fast = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        fast.backend = .libxsmm
        fast.handWrittenStrips = handWritten
        fast.stripGroupBytes = 256 << 10   // several strip groups (the pack is 1.7 MB), whatever this CPU's L2
        let fallback = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        try fallback.assignProjection(of: fast.denseWeight())
        try fallback.bias!.assign(fast.bias!.value)
        fallback.backend = .openBLAS
        let batch = XSMMKernelSet.maximumWeightGradientChunk + 44
        let x = Matrix<Float>(rows: batch, cols: shape.input, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Float>(rows: batch, cols: shape.output, initializer: .uniform(low: -1, high: 1), rng: &rng)
        #expect(fast.xsmmStripGroupCounts(batch: batch).map { $0.forward > 1 && $0.inputGradient > 1 } == true)
        let twentyFourRowStrips = BlockSparseBackend.libxsmmStripSplits(blockSize: 48).contains(24)
        #expect(fast.xsmmRunsHandWrittenStrips(batch: batch)
                == (handWritten && twentyFourRowStrips && pixelfly_vector_kernels_use_avx2() != 0))
        var results: [(y: Matrix<Float>, dx: Matrix<Float>, dW: Matrix<Float>, db: Matrix<Float>)] = []
        for layer in [fast, fallback] {
            var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            results.append((y, dx, layer.weight.gradient, layer.bias!.gradient))
        }
        #expect(compare(results[0].y, results[1].y.converted(to: Double.self)).maxAbs < 1e-4)
        #expect(compare(results[0].dx, results[1].dx.converted(to: Double.self)).maxAbs < 1e-4)
        #expect(compare(results[0].dW, results[1].dW.converted(to: Double.self)).maxAbs < 1e-3)
        #expect(compare(results[0].db, results[1].db.converted(to: Double.self)).maxAbs < 1e-3)

        // The same with a rank-16 Pixelfly term: h and dh made per tile, U and V packed per strip,
        // dU on the weight gradient's transposed dy blocks (row ranges split between threads),
        // dV on its chunk copies of x at 3072 inputs (rows 12 KB apart) and in place at 768.
        let rank = 16
        let u = Matrix<Float>(rows: shape.output, cols: rank, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
        let v = Matrix<Float>(rows: rank, cols: shape.input, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
        var sums: [(y: Matrix<Float>, dx: Matrix<Float>, dU: Matrix<Float>, dV: Matrix<Float>)] = []
        for layer in [fast, fallback] {
            let (uParameter, vParameter) = (Parameter(name: "u", value: u, weightDecay: false), Parameter(name: "v", value: v, weightDecay: false))
            var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            var h = Matrix<Float>(rows: 0, cols: 0), dh = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &y, bias: layer.bias!.value, u: u, v: v, hidden: &h)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: h, u: uParameter, v: vParameter,
                               hiddenGradient: &dh, bias: nil)
            sums.append((y, dx, uParameter.gradient, vParameter.gradient))
        }
        #expect(compare(sums[0].y, sums[1].y.converted(to: Double.self)).maxAbs < 1e-4)
        #expect(compare(sums[0].dx, sums[1].dx.converted(to: Double.self)).maxAbs < 1e-4)
        #expect(compare(sums[0].dU, sums[1].dU.converted(to: Double.self)).maxAbs < 1e-3)
        #expect(compare(sums[0].dV, sums[1].dV.converted(to: Double.self)).maxAbs < 1e-3)
    }

    /// Strip groups: consecutive, covering every strip once, each within the byte budget unless
    /// a single strip exceeds it; one group for an unlimited budget, one strip each for 1 byte.
    @Test func stripGroupsCoverTheStripsWithinTheBudget() throws {
        let mask = try FlatButterflyMask(outputFeatures: 3072, inputFeatures: 768,
                                         configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 48))
        let layout = BlockSparseLayout(mask: mask)
        for transposed in [false, true] {
            let plan = BlockStripPlan(layout, transposed: transposed, maximumHeight: 128, scalarSize: 4)
            func bytes(_ s: Int, _ columns: Int) -> Int { plan.strips[s].height * (plan.strips[s].count * 48 + columns) * 4 }
            for (budget, columns) in [(200 << 10, 0), (200 << 10, 33), (1 << 20, 16)] {
                let groups = plan.stripGroups(maximumBytes: budget, lowRankColumns: columns, scalarSize: 4)
                #expect(groups.first?.lowerBound == 0 && groups.last?.upperBound == plan.strips.count)
                #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
                #expect(groups.allSatisfy { $0.count == 1 || $0.reduce(0) { $0 + bytes($1, columns) } <= budget })
                #expect(groups.count > 1, "a 1.7 MB pack in groups of at most \(budget) bytes")
            }
            #expect(plan.stripGroups(maximumBytes: .max, lowRankColumns: 0, scalarSize: 4) == [0..<plan.strips.count])
            #expect(plan.stripGroups(maximumBytes: 1, lowRankColumns: 0, scalarSize: 4).count == plan.strips.count)
        }
    }

    /// The pack holds every element of every strip where the strip's kernel reads it (element
    /// (r, c) of block k at the block's weight offset + c·h + r), for S and Sᵀ, with blocks
    /// copied in runs: fewer copies than blocks wherever strips are taller than one block.
    @Test func packPutsEveryStripElementWhereTheKernelReadsIt() throws {
        var rng = SeededRandom(seed: 17)
        var masks = [try FlatButterflyMask(outputFeatures: 1024, inputFeatures: 4096,
                                           configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32)),
                     try FlatButterflyMask(outputFeatures: 3072, inputFeatures: 768,
                                           configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 48))]
        for _ in 0..<6 { masks.append(try Self.randomMask(&rng)) }
        for mask in masks {
            let layout = BlockSparseLayout(mask: mask)
            let panels = (0..<layout.storedCount).map { Double($0 + 1) }
            // Every strip height (`BlockSparseBackend.libxsmmStripHeight(blockSize:)`: AVX-512, AVX2) and
            // split (`libxsmmStripSplits`, strips that start and end inside blocks) on every CPU.
            let heights: [(maximum: Int, splits: [Int])] = [(32, []), (64, []), (192, []), (192, [32, 24]), (192, [16])]
            for (transposed, height) in [false, true].flatMap({ t in heights.map { (t, $0) } }) {
                let plan = BlockStripPlan(layout, transposed: transposed, maximumHeight: height.maximum, splitHeights: height.splits,
                                          scalarSize: 8)
                var pack = [Double](repeating: 0, count: plan.packedCount)
                panels.withUnsafeBufferPointer { source in
                    pack.withUnsafeMutableBufferPointer { BlockSparseXSMMKernel.pack(plan, panels: source.baseAddress!, into: $0.baseAddress!) }
                }
                var mismatches = 0, blocks = 0
                for strip in plan.strips {
                    for k in strip.start..<(strip.start + strip.count) {
                        let (offset, column) = (Int(plan.weightOffsets[k]) / 8, Int(plan.inputOffsets[k]) / 8)
                        blocks += (strip.row + strip.height - 1) / plan.blockSize - strip.row / plan.blockSize + 1
                        for r in 0..<strip.height {
                            for c in 0..<plan.blockSize {
                                let (i, j) = (strip.row + r, column + c)
                                let index = transposed ? layout.storageIndex(row: j, col: i) : layout.storageIndex(row: i, col: j)
                                if pack[offset + c * strip.height + r] != index.map({ panels[$0] }) { mismatches += 1 }
                            }
                        }
                    }
                }
                #expect(mismatches == 0, "\(mask.outputFeatures)×\(mask.inputFeatures), b \(plan.blockSize), transposed \(transposed), height \(height)")
                // Each strip is a split height, or a whole run (of whole blocks) that no split divides.
                #expect(plan.strips.allSatisfy { strip in
                    height.splits.contains(strip.height)
                        || (strip.height % plan.blockSize == 0 && height.splits.allSatisfy { strip.height % $0 != 0 })
                })
                #expect(plan.copies.count <= blocks)
                if plan.strips.contains(where: { $0.height > plan.blockSize }) { #expect(plan.copies.count < blocks) }
            }
        }
    }

    /// At the Mixer's 768 → 3072 (b = 48) S keeps the same 3 block columns for 4 block rows at a
    /// time: split at 32 rows, else 24, each 192-row run becomes six 32-row strips (32 comes
    /// first, though 24 divides 192 too), some starting inside a block, with the same weights
    /// packed; Sᵀ's runs (one block row of 48, which 32 does not divide) become two 24-row strips.
    @Test func splitCutsRunsIntoStripsAcrossBlockBoundaries() throws {
        let mask = try FlatButterflyMask(outputFeatures: 3072, inputFeatures: 768,
                                         configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 48))
        let layout = BlockSparseLayout(mask: mask)
        let whole = BlockStripPlan(layout, transposed: false, maximumHeight: 192, scalarSize: 4)
        let split = BlockStripPlan(layout, transposed: false, maximumHeight: 192, splitHeights: [32, 24], scalarSize: 4)
        #expect(whole.heights == [192])
        #expect(split.heights == [32] && split.strips.count == 6 * whole.strips.count)
        #expect(split.packedCount == whole.packedCount)
        #expect(split.strips.contains { $0.row % 48 != 0 })
        let wholeTransposed = BlockStripPlan(layout, transposed: true, maximumHeight: 192, scalarSize: 4)
        let splitTransposed = BlockStripPlan(layout, transposed: true, maximumHeight: 192, splitHeights: [32, 24], scalarSize: 4)
        #expect(wholeTransposed.heights == [48])
        #expect(splitTransposed.heights == [24] && splitTransposed.strips.count == 2 * wholeTransposed.strips.count)
        #expect(splitTransposed.packedCount == wholeTransposed.packedCount)
    }

    /// The packs the LIBXSMM kernels read start on a 64-byte line, zeroed when new, and keep
    /// their storage (no allocation) while the count stays the same.
    @Test func alignedPackStartsOnALineAndKeepsItsStorage() throws {
        for count in [1, 7, 48 * 48 * 12 + 5] {
            let pack = AlignedPack<Float>()
            pack.resize(to: count)
            #expect(UInt(bitPattern: pack.pointer) % 64 == 0, "count \(count)")
            #expect((0..<count).allSatisfy { pack.pointer[$0] == 0 })
            pack.pointer[count - 1] = 3
            let first = pack.pointer
            pack.resize(to: count)
            #expect(pack.pointer == first && pack.pointer[count - 1] == 3)
            pack.resize(to: count + 16)
            #expect(pack.count == count + 16 && UInt(bitPattern: pack.pointer) % 64 == 0)
        }
    }

    /// The LIBXSMM weight gradient reads x from a block-column copy (by default when x's rows are
    /// a multiple of 4 KB apart — Float at 1024 features, Double at 512 — or the L1 data cache is
    /// 32 KB) or in place; both paths, forced, on every CPU: dW, db and a Pixelfly term's dV each
    /// against the Double reference, with a short last chunk, b = 32 (narrower than the tiles'
    /// 64 rows) and b = 48, and both thread counts (the copy's rows split between them).
    @Test(arguments: [1, 2])
    func weightGradientWithPackedAndInPlaceInput(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        func check<S: TensorScalar>(_: S.Type, input: Int, packs: Bool, output: Int = 256, blockSize: Int = 32) throws {
            var rng = SeededRandom(seed: 91)
            let mask = try FlatButterflyMask(outputFeatures: output, inputFeatures: input,
                                             configuration: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: blockSize))
            let layer = try BlockSparseLinear<S>(mask: mask, rng: &rng)
            layer.backend = .libxsmm
            let fourKilobyteRows = input * MemoryLayout<S>.stride % 4096 == 0
            #expect(layer.packsWeightGradientInput == (fourKilobyteRows || XSMMKernelSet.packsWeightGradientInputAtEveryStride))
            layer.packsWeightGradientInput = packs
            let batch = XSMMKernelSet.maximumWeightGradientChunk + 44
            let x = Matrix<S>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<S>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
            var dx = Matrix<S>(rows: 0, cols: 0)
            _ = try layer(x)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            #expect(layer.xsmmKernelsPackInput(batch: batch) == packs, "\(S.self), \(input) features")
            let expected = Self.masked(try NaiveReference.gemm(dy.converted(to: Double.self), .transposed,
                                                               x.converted(to: Double.self), .none), mask)
            #expect(compare(layer.denseMatrix(fromPacked: layer.weight.gradient), expected).maxAbs < 1e-3, "\(S.self), \(input) features")
            var expectedDb = Matrix<Double>(rows: 1, cols: output)
            for i in 0..<batch { for j in 0..<output { expectedDb[0, j] += Double(dy[i, j]) } }
            #expect(compare(layer.bias!.gradient, expectedDb).maxAbs < 1e-3)

            // A rank-8 Pixelfly term: dV += dhᵀ·x (dh = dy·U) runs on the copy when x is copied.
            let rank = 8
            let u = Matrix<S>(rows: output, cols: rank, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
            let v = Matrix<S>(rows: rank, cols: input, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
            let (uParameter, vParameter) = (Parameter(name: "u", value: u, weightDecay: false), Parameter(name: "v", value: v, weightDecay: false))
            var y = Matrix<S>(rows: 0, cols: 0), h = Matrix<S>(rows: 0, cols: 0), dh = Matrix<S>(rows: 0, cols: 0)
            try layer.forward(x, into: &y, bias: layer.bias!.value, u: u, v: v, hidden: &h)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: h, u: uParameter, v: vParameter,
                               hiddenGradient: &dh, bias: nil)
            let expectedDh = try NaiveReference.gemm(dy.converted(to: Double.self), .none, u.converted(to: Double.self), .none)
            let expectedDV = try NaiveReference.gemm(expectedDh, .transposed, x.converted(to: Double.self), .none)
            #expect(compare(vParameter.gradient, expectedDV).maxAbs < 1e-3, "dV, \(S.self), \(input) features")
        }
        try check(Float.self, input: 1024, packs: true)
        try check(Double.self, input: 512, packs: true)
        try check(Float.self, input: 512, packs: false)
        try check(Float.self, input: 512, packs: true)
        try check(Double.self, input: 512, packs: false)
        // b = 48: Float tiles of 48 columns, and dV on x's copy, run as two 24-row slices on the
        // hand-written kernel where it is chosen (`XSMMKernelSet.blockColumnsHandWritten`), x
        // copied and in place.
        try check(Float.self, input: 384, packs: true, output: 384, blockSize: 48)
        try check(Float.self, input: 384, packs: false, output: 384, blockSize: 48)
    }

    /// The LIBXSMM backward in blocks of batch rows (`XSMMKernelSet.backwardBlockRows`): an
    /// expanding layer, 700 rows in blocks of 256 (256, 256, 188: the last block shorter than a
    /// weight-gradient chunk and ending in a short tile), x copied and in place, 1 and 2
    /// threads. dx, dW, db, and a rank-8 Pixelfly term's dU and dV against the Double reference.
    @Test(arguments: [1, 2])
    func backwardInBlocksOfBatchRows(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        for packs in [false, true] {
            var rng = SeededRandom(seed: 57)
            let (input, output, batch, rank) = (256, 512, 700, 8)
            let mask = try FlatButterflyMask(outputFeatures: output, inputFeatures: input,
                                             configuration: FlatButterflyConfiguration(butterflySize: 8, factors: 2, blockSize: 32))
            let layer = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
            layer.backend = .libxsmm
            layer.packsWeightGradientInput = packs
            layer.backwardBlock = 256
            let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<Float>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let u = Matrix<Float>(rows: output, cols: rank, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
            let v = Matrix<Float>(rows: rank, cols: input, initializer: .uniform(low: -0.2, high: 0.2), rng: &rng)
            let (uParameter, vParameter) = (Parameter(name: "u", value: u, weightDecay: false), Parameter(name: "v", value: v, weightDecay: false))
            var y = Matrix<Float>(rows: 0, cols: 0), h = Matrix<Float>(rows: 0, cols: 0), dh = Matrix<Float>(rows: 0, cols: 0)
            var dx = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &y, bias: layer.bias!.value, u: u, v: v, hidden: &h)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: h, u: uParameter, v: vParameter,
                               hiddenGradient: &dh, bias: nil)
            #expect(layer.xsmmBackwardBlockRows(batch: batch, rank: rank) == 256)
            let (xd, dyd, ud, vd) = (x.converted(to: Double.self), dy.converted(to: Double.self), u.converted(to: Double.self),
                                     v.converted(to: Double.self))
            let expectedDh = try NaiveReference.gemm(dyd, .none, ud, .none)
            var expectedDx = try NaiveReference.gemm(dyd, .none, layer.denseMatrix(fromPacked: layer.weight.value).converted(to: Double.self), .none)
            let lowRankDx = try NaiveReference.gemm(expectedDh, .none, vd, .none)
            for i in 0..<batch { for j in 0..<input { expectedDx[i, j] += lowRankDx[i, j] } }
            let context = "packs \(packs), \(threads) threads"
            #expect(compare(dx, expectedDx).maxAbs < 1e-3, "dx, \(context)")
            let expectedDW = Self.masked(try NaiveReference.gemm(dyd, .transposed, xd, .none), mask)
            #expect(compare(layer.denseMatrix(fromPacked: layer.weight.gradient), expectedDW).maxAbs < 1e-3, "dW, \(context)")
            var expectedDb = Matrix<Double>(rows: 1, cols: output)
            for i in 0..<batch { for j in 0..<output { expectedDb[0, j] += dyd[i, j] } }
            #expect(compare(layer.bias!.gradient, expectedDb).maxAbs < 1e-3, "db, \(context)")
            let hd = try NaiveReference.gemm(xd, .none, vd, .transposed)
            #expect(compare(uParameter.gradient, try NaiveReference.gemm(dyd, .transposed, hd, .none)).maxAbs < 1e-3, "dU, \(context)")
            #expect(compare(vParameter.gradient, try NaiveReference.gemm(expectedDh, .transposed, xd, .none)).maxAbs < 1e-3, "dV, \(context)")
        }
    }

    /// When the backward runs in blocks: only for layers wider out than in, batches larger than
    /// the block, and blocks that are whole tiles and weight-gradient chunks.
    @Test func backwardBlockRowsRule() {
        #expect(XSMMKernelSet.backwardBlockRows(batch: 4096, tile: 64, chunk: 256, outputFeatures: 3072, inputFeatures: 768) == 512)
        #expect(XSMMKernelSet.backwardBlockRows(batch: 4096, tile: 64, chunk: 256, outputFeatures: 768, inputFeatures: 3072) == 4096)
        #expect(XSMMKernelSet.backwardBlockRows(batch: 512, tile: 64, chunk: 256, outputFeatures: 3072, inputFeatures: 768) == 512)
        #expect(XSMMKernelSet.backwardBlockRows(batch: 600, tile: 40, chunk: 256, outputFeatures: 3072, inputFeatures: 768) == 600)
        #expect(XSMMKernelSet.backwardBlockRows(batch: 4096, tile: 64, chunk: 256, outputFeatures: 3072, inputFeatures: 768,
                                                block: 384) == 4096)
    }

    /// The fused rank-r term (Pixelfly's `.sum`) on a layout with an empty block row: the strips
    /// and the uncovered rows both read the packed low-rank factors; y, dx, dU, dV and db against
    /// the Double reference on both backends.
    @Test(arguments: BlockSparseBackend.allCases)
    func lowRankTermCoversEmptyBlockRows(backend: BlockSparseBackend) throws {
        let layout = try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true])
        try checkFusedLowRankTerm(layout, backend: backend, seed: 12)
    }

    /// A LIBXSMM forward (h ends in the folded bias's ones column) followed by an OpenBLAS
    /// backward: the backward uses h's first r columns.
    @Test func backendSwitchBetweenForwardAndBackward() throws {
        let layout = try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true])
        try checkFusedLowRankTerm(layout, backend: .libxsmm, seed: 13, backwardBackend: .openBLAS)
    }

    /// The producers h = x·Vᵀ and dh = dy·U run in chunks along their depth
    /// (`ProducerKernels.maximumDepth`): 2100 = 3 × 700 inputs, then 2101 outputs in chunks of
    /// 701, 701 and 699, against the Double reference on both backends.
    @Test(arguments: BlockSparseBackend.allCases, [(8, 2100), (2101, 8)])
    func lowRankProducersSplitAlongTheirDepth(backend: BlockSparseBackend, shape: (rows: Int, cols: Int)) throws {
        #expect(ProducerKernels.chunkStarts(depth: 2100) == [0, 700, 1400])
        #expect(ProducerKernels.chunkStarts(depth: 2101) == [0, 701, 1402])
        #expect(ProducerKernels.chunkStarts(depth: 1024) == [0])
        var rng = SeededRandom(seed: 31)
        let b = shape.rows == 2101 ? 1 : 4
        let (blockRows, blockCols) = (shape.rows / b, shape.cols / b)
        let blocks = (0..<(blockRows * blockCols)).map { _ in rng.uniform(0, 1) < 0.3 }
        let layout = try BlockSparseLayout(rows: shape.rows, cols: shape.cols, blockSize: b, blocks: blocks)
        try checkFusedLowRankTerm(layout, backend: backend, seed: 32)
    }

    /// y, h, dx, dU, dV and db of the fused rank-3 term with a bias on `layout`, against the
    /// Double reference (5 batch rows).
    func checkFusedLowRankTerm(_ layout: BlockSparseLayout, backend: BlockSparseBackend, seed: UInt64,
                               backwardBackend: BlockSparseBackend? = nil) throws {
        var rng = SeededRandom(seed: seed)
        let (rows, cols) = (layout.rows, layout.cols)
        let layer = try BlockSparseLinear<Double>(layout: layout, bias: false, rng: &rng)
        layer.backend = backend
        let (batch, rank) = (5, 3)
        let x = Matrix<Double>(rows: batch, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Double>(rows: batch, cols: rows, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let u = Parameter(name: "u", value: Matrix<Double>(rows: rows, cols: rank, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        let v = Parameter(name: "v", value: Matrix<Double>(rows: rank, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        let bias = Parameter(name: "b", value: Matrix<Double>(rows: 1, cols: rows, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        var y = Matrix<Double>(rows: 0, cols: 0), h = Matrix<Double>(rows: 0, cols: 0)
        var dx = Matrix<Double>(rows: 0, cols: 0), dh = Matrix<Double>(rows: 0, cols: 0)
        try layer.forward(x, into: &y, bias: bias.value, u: u.value, v: v.value, hidden: &h)
        if let backwardBackend { layer.backend = backwardBackend }
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: h, u: u, v: v, hiddenGradient: &dh, bias: bias)

        let w = layer.denseWeight()
        let hReference = try NaiveReference.gemm(x, .none, v.value, .transposed)
        let dhReference = try NaiveReference.gemm(dy, .none, u.value, .none)
        var yReference = try NaiveReference.gemm(x, .none, w, .transposed)
        let lowRank = try NaiveReference.gemm(hReference, .none, u.value, .transposed)
        var dxReference = try NaiveReference.gemm(dy, .none, w, .none)
        let dxLowRank = try NaiveReference.gemm(dhReference, .none, v.value, .none)
        var dbReference = Matrix<Double>(rows: 1, cols: rows)
        for i in 0..<batch {
            for j in 0..<rows {
                yReference[i, j] += lowRank[i, j] + bias.value[0, j]
                dbReference[0, j] += dy[i, j]
            }
            for j in 0..<cols { dxReference[i, j] += dxLowRank[i, j] }
        }
        #expect(compare(y, yReference).maxAbs < 1e-12)
        // On LIBXSMM the bias rides on the rank-r product: h ends in a column of ones.
        #expect(h.cols == (backend == .libxsmm ? rank + 1 : rank))
        var hLeading = Matrix<Double>(rows: batch, cols: rank)
        for i in 0..<batch {
            for k in 0..<rank { hLeading[i, k] = h[i, k] }
            if h.cols > rank { #expect(h[i, rank] == 1) }
        }
        #expect(compare(hLeading, hReference).maxAbs < 1e-12)
        #expect(compare(dx, dxReference).maxAbs < 1e-12)
        #expect(compare(u.gradient, try NaiveReference.gemm(dy, .transposed, hReference, .none)).maxAbs < 1e-12)
        #expect(compare(v.gradient, try NaiveReference.gemm(dhReference, .transposed, x, .none)).maxAbs < 1e-12)
        #expect(compare(bias.gradient, dbReference).maxAbs < 1e-12)
        // Rows without a kept block: the low-rank term and the bias only.
        for range in layout.uncoveredRows {
            for i in 0..<batch { for j in range { #expect(abs(y[i, j] - lowRank[i, j] - bias.value[0, j]) < 1e-12) } }
        }
    }

    @Test func badShapesThrow() throws {
        var rng = SeededRandom(seed: 1)
        let mask = try FlatButterflyMask(outputFeatures: 64, inputFeatures: 32,
                                         configuration: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8))
        let layer = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        #expect(throws: ShapeError.self) { try layer(Matrix<Float>(rows: 2, cols: 31)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 32), outputGradient: Matrix(rows: 2, cols: 63), inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) { try layer.assignProjection(of: Matrix(rows: 64, cols: 64)) }
        #expect(throws: ShapeError.self) { try BlockSparseLayout(rows: 30, cols: 32, blockSize: 8, blocks: []) }
        #expect(throws: ShapeError.self) { try BlockSparseLayout(rows: 32, cols: 32, blockSize: 8, blocks: [true]) }
    }
}
