@testable import Butterfly
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore
import CVectorKernels
import Testing

/// The LIBXSMM kernels at the Mixer's shapes and on both weight-gradient inputs, the packs, and the
/// backward in blocks of batch rows: each against the OpenBLAS kernel or the Double reference.
extension BlockSparseTests {
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

    func checkMixerShape(_ shape: (input: Int, output: Int), handWritten: Bool) throws {
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

    /// When the weight gradient copies x (`XSMMKernelSet.packsWeightGradientInput`): at 4 KB
    /// multiples of row stride, at every stride with a 32 KB L1, and not at 12 KB where the CPU
    /// reads such rows in place (Zen 5 with AVX-512 code); 16 KB and 4 KB rows are copied there too.
    @Test func weightGradientCopyRule() {
        func packs(_ rowBytes: Int, everyStride: Bool = false, inPlace: Bool = false) -> Bool {
            XSMMKernelSet.packsWeightGradientInput(rowBytes: rowBytes, everyStride: everyStride, twelveKilobyteRowsInPlace: inPlace)
        }
        for rowBytes in [4096, 8192, 12288, 16384] { #expect(packs(rowBytes), "\(rowBytes) bytes") }
        for rowBytes in [3072, 2048, 12288 + 64] { #expect(!packs(rowBytes), "\(rowBytes) bytes") }
        #expect(!packs(12288, inPlace: true))
        for rowBytes in [4096, 8192, 16384, 24576] { #expect(packs(rowBytes, inPlace: true), "\(rowBytes) bytes") }
        for rowBytes in [3072, 12288] { #expect(packs(rowBytes, everyStride: true, inPlace: true), "\(rowBytes) bytes") }
        #expect(XSMMKernelSet.readsTwelveKilobyteRowsInPlace == (XSMMKernelSet.isZen5 && BlockSparseBackend.libxsmmTargetsAVX512))
        #expect(XSMMKernelSet.packsWeightGradientInput(rowBytes: 12288)
                == (XSMMKernelSet.packsWeightGradientInputAtEveryStride || !XSMMKernelSet.readsTwelveKilobyteRowsInPlace))
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
}
