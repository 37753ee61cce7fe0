@testable import Butterfly
import PixelflyCore
import PixelflyModels
import Testing

/// A dense matrix on the block-sparse kernels (`BlockSparseLayout.full`, `LinearKind.denseBlocks`):
/// the second dense layer the bench times, and the baseline wherever it is the faster one. Its
/// products must be the dense layer's, on both kernels, at a batch that runs LIBXSMM's strips
/// and weight-gradient chunks.
@Suite("BlockSparseLinear on a full layout (dense-blocks)")
struct BlockSparseFullLayoutTests {
    @Test func fullLayoutIsOneRowMajorPanel() throws {
        let layout = try BlockSparseLayout.full(rows: 96, cols: 144, blockSize: 48)
        #expect(layout.isFull && layout.density == 1 && layout.storedCount == 96 * 144)
        #expect(layout.groups.count == 1 && layout.groups[0].runs == [.init(start: 0, count: 144)])
        #expect(layout.storageIndex(row: 0, col: 0) == 0 && layout.storageIndex(row: 95, col: 143) == 96 * 144 - 1)
        #expect(layout.storageIndex(row: 7, col: 100) == 7 * 144 + 100)
        let mask = try FlatButterflyMask(outputFeatures: 192, inputFeatures: 192,
                                         configuration: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 48))
        #expect(!BlockSparseLayout(mask: mask).isFull)
    }

    @Test func blockSizeThatDoesNotDivideIsRefusedWithTheChoices() throws {
        #expect(throws: ShapeError("BlockSparseLayout.full",
                                   "block size 40 must be positive and divide both 96 and 144 (divisors of both: 1, 2, 3, 4, 6, 8, 12, 16, 24, 48)")) {
            try BlockSparseLayout.full(rows: 96, cols: 144, blockSize: 40)
        }
        #expect(throws: ShapeError.self) { try BlockSparseLayout.full(rows: 96, cols: 144, blockSize: 0) }
        #expect(throws: ShapeError("BlockSparseLayout.full", "sizes must be positive, got 0×144")) {
            try BlockSparseLayout.full(rows: 0, cols: 144, blockSize: 48)
        }
        var rng = SeededRandom(seed: 1)
        let make: LinearFactory<Float> = LinearKind.denseBlocks(blockSize: 48).factory()
        do {
            _ = try make(49, 384, "blocks.0.token_mixing.fc1", &rng)
            Issue.record("b = 48 cannot tile a 49-feature input")
        } catch let error as ShapeError {
            #expect(error.operation == "dense-blocks layer blocks.0.token_mixing.fc1 (49 → 384)")
            #expect(error.message.contains("divisors of both: 1"))
        }
    }

    /// y, dx, dW and db of the full layout against the Double products of the same weight, on
    /// both kernels, at 1 and 2 threads; the batch (300 rows) spans several 64-row tiles and a
    /// short last weight-gradient chunk.
    @Test(arguments: BlockSparseBackend.allCases, [1, 2])
    func productsMatchTheDenseReference(backend: BlockSparseBackend, threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        var rng = SeededRandom(seed: 41)
        for (input, output, b) in [(96, 192, 48), (192, 96, 48), (64, 128, 32)] {
            let layer = try BlockSparseLinear<Float>(layout: BlockSparseLayout.full(rows: output, cols: input, blockSize: b), rng: &rng)
            layer.backend = backend
            let batch = 300
            let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<Float>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let w = layer.denseWeight().converted(to: Double.self)
            let (xd, dyd) = (x.converted(to: Double.self), dy.converted(to: Double.self))
            var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &y)
            layer.zeroGradients()
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            var expectedY = try NaiveReference.gemm(xd, .none, w, .transposed)
            for i in 0..<batch { for j in 0..<output { expectedY[i, j] += Double(layer.bias!.value[0, j]) } }
            let tolerance = 1e-5 * Double(input + output)
            #expect(compare(y, expectedY).maxAbs < tolerance, "y \(input)→\(output): \(compare(y, expectedY))")
            #expect(compare(dx, try NaiveReference.gemm(dyd, .none, w, .none)).maxAbs < tolerance)
            let expectedDW = try NaiveReference.gemm(dyd, .transposed, xd, .none)
            #expect(compare(layer.denseMatrix(fromPacked: layer.weight.gradient), expectedDW).maxAbs < 1e-5 * Double(batch))
            var expectedDb = Matrix<Double>(rows: 1, cols: output)
            for i in 0..<batch { for j in 0..<output { expectedDb[0, j] += dyd[i, j] } }
            #expect(compare(layer.bias!.gradient, expectedDb).maxAbs < 1e-5 * Double(batch))
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 43)
        let layer = try BlockSparseLinear<Double>(layout: BlockSparseLayout.full(rows: 24, cols: 36, blockSize: 12), rng: &rng)
        let x = Matrix<Double>(rows: 5, cols: 36, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(layer, input: x, samples: 40)
        #expect(result.worst < 1e-6, "\(result)")
    }

    /// `--linear dense-blocks`: the model-level switch builds the full layout, initialised like
    /// `DenseLinear` (uniform in ±1/√in, weight and bias), with the dense layer's parameter count.
    @Test func linearKindBuildsAFullLayoutWithTheDenseInitialisation() throws {
        #expect(LinearKind.choices.contains("dense-blocks"))
        #expect(LinearKind.denseBlocks(blockSize: 48).description == "dense-blocks(b 48)")
        var rng = SeededRandom(seed: 5)
        let make: LinearFactory<Float> = LinearKind.denseBlocks(blockSize: 48).factory()
        let layer = try #require(try make(768, 3072, "blocks.0.channel_mixing.fc1", &rng) as? BlockSparseLinear<Float>)
        #expect(layer.layout.isFull && layer.layout.blockSize == 48)
        #expect(layer.parameters.map(\.name) == ["blocks.0.channel_mixing.fc1.weight", "blocks.0.channel_mixing.fc1.bias"])
        let counts: [Int] = layer.parameters.map { $0.value.count }
        #expect(counts == [768 * 3072, 3072])
        let bound = Float(1 / (768.0).squareRoot())
        let weights: [Float] = Array(layer.weight.value.storage)
        let largest: Float = weights.max() ?? 0, smallest: Float = weights.min() ?? 0
        #expect(largest <= bound && smallest >= -bound)
        #expect(largest > 0.99 * bound && smallest < -0.99 * bound)
    }

    @Test(arguments: BlockSparseBackend.allCases)
    func steadyStateIsAllocationFree(backend: BlockSparseBackend) throws {
        var rng = SeededRandom(seed: 6)
        let layer = try BlockSparseLinear<Float>(layout: BlockSparseLayout.full(rows: 192, cols: 96, blockSize: 48), rng: &rng)
        layer.backend = backend
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state dense-blocks step")
    }
}
