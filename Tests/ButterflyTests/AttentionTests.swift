import PixelflyModels
import PixelflyCore
import Testing

@Suite("Attention: multi-head self-attention, dense and butterfly scores")
struct AttentionTests {
    static let patterns: [AttentionScorePattern] = [.dense, .flatButterfly(blockSize: 2, factors: 1), .flatButterfly(blockSize: 2, factors: 2)]

    @Test(arguments: [false, true], patterns)
    func forwardMatchesMaskedDenseReference(causal: Bool, pattern: AttentionScorePattern) throws {
        var rng = SeededRandom(seed: 31)
        // T = 8 in blocks of 2: a 4×4 block grid.
        let attention = try MultiHeadSelfAttention<Float>(features: 12, heads: 3, sequenceLength: 8, causal: causal,
                                                          scorePattern: pattern, linear: LinearFactories.dense(), rng: &rng)
        let x = Matrix<Float>(rows: 16, cols: 12, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let reference = try BlocksReference.attention(x, attention, allowed: BlocksReference.mask(causal: causal, pattern: pattern))
        let error = compare(try attention(x), reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
    }

    @Test func tiledCausalDenseMatchesReference() throws {
        // T = 64 is tiled into two blocks of 32; the upper-right tile is skipped.
        var rng = SeededRandom(seed: 36)
        let attention = try MultiHeadSelfAttention<Float>(features: 4, heads: 2, sequenceLength: 64, causal: true,
                                                          linear: LinearFactories.dense(), rng: &rng)
        #expect(attention.scoreDensity == 0.75)
        let x = Matrix<Float>(rows: 128, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let reference = try BlocksReference.attention(x, attention, allowed: BlocksReference.mask(causal: true, pattern: .dense))
        let error = compare(try attention(x), reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
        var small = SeededRandom(seed: 37)
        let checked = try MultiHeadSelfAttention<Double>(features: 2, heads: 1, sequenceLength: 64, causal: true,
                                                         linear: LinearFactories.dense(bias: false), rng: &small)
        let result = try gradientCheck(checked, input: Matrix(rows: 64, cols: 2, initializer: .normal(mean: 0, standardDeviation: 1), rng: &small))
        #expect(result.worst < 1e-6, "\(result)")
    }

    /// The attention core runs its (sequence, head) pairs in parallel once a part gets 2¹⁸
    /// multiply-adds. Here 4 sequences × 4 heads, T = 64 causal in tiles of 32 (3 of 4 tiles
    /// computed), head width 16: 2 · 3072 · 16 ≈ 98 000 multiply-adds per pair in the forward,
    /// 16 pairs, so both passes cut the pairs into two parts. The parts must not share a
    /// workspace: the same bits as the same split run serially (a shared score-gradient panel
    /// breaks ∂Q and ∂K), and the forward within 1e-5 of the Double reference.
    @Test(arguments: [false, true])
    func pairsSplitOverTheThreads(butterflyScores: Bool) throws {
        try TestThreadCount.set(2)
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        var rng = SeededRandom(seed: 38)
        let pattern: AttentionScorePattern = butterflyScores ? .flatButterfly(blockSize: 16, factors: 2) : .dense
        let attention = try MultiHeadSelfAttention<Float>(features: 64, heads: 4, sequenceLength: 64, causal: true,
                                                          scorePattern: pattern, linear: LinearFactories.dense(), rng: &rng)
        let x = Matrix<Float>(rows: 256, cols: 64, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let dy = Matrix<Float>(rows: 256, cols: 64, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        func step() throws -> [Matrix<Float>] {
            attention.parameters.forEach { $0.zeroGradient() }
            var y = Matrix<Float>(), dx = Matrix<Float>()
            try attention.forward(x, into: &y)
            try attention.backward(input: x, outputGradient: dy, inputGradient: &dx)
            return [y, dx] + attention.parameters.map(\.gradient)
        }
        let (parallel, serial) = try TestThreadCount.stable { (try step(), try ComputeThreads.serially { try step() }) }
        #expect(parallel == serial)
        let reference = try BlocksReference.attention(x, attention, allowed: BlocksReference.mask(causal: true, pattern: pattern))
        let error = compare(parallel[0], reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
    }

    @Test func butterflyScoresDifferFromDense() throws {
        // The pattern must actually mask something, or the test above proves nothing about it.
        var rng = SeededRandom(seed: 32)
        let x = Matrix<Double>(rows: 8, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var first = SeededRandom(seed: 5), second = SeededRandom(seed: 5)
        let dense = try MultiHeadSelfAttention<Double>(features: 4, heads: 2, sequenceLength: 8, linear: LinearFactories.dense(), rng: &first)
        let sparse = try MultiHeadSelfAttention<Double>(features: 4, heads: 2, sequenceLength: 8,
                                                        scorePattern: .flatButterfly(blockSize: 2, factors: 1),
                                                        linear: LinearFactories.dense(), rng: &second)
        #expect(try dense(x).maxAbsDifference(try sparse(x)) > 1e-3)
    }

    @Test(arguments: [false, true], patterns)
    func gradient(causal: Bool, pattern: AttentionScorePattern) throws {
        var rng = SeededRandom(seed: 33)
        let attention = try MultiHeadSelfAttention<Double>(features: 6, heads: 2, sequenceLength: 8, causal: causal,
                                                           scorePattern: pattern, linear: LinearFactories.dense(), rng: &rng)
        let x = Matrix<Double>(rows: 16, cols: 6, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(attention, input: x, samples: 32)
        // The key bias adds q_i·b to every allowed score of row i: a per-row constant that the
        // softmax cancels, so its gradient is exactly zero and a relative error is meaningless.
        // Check the zero instead.
        let checked = result.errors.filter { $0.0 != "attention.key.bias" }
        #expect(checked.count == 8)
        #expect(checked.allSatisfy { $0.1 < 1e-6 }, "\(result)")
        let keyBiasGradient = (attention.key as! DenseLinear<Double>).bias!.gradient
        #expect(keyBiasGradient.storage.allSatisfy { abs($0) < 1e-12 }, "\(keyBiasGradient)")
    }

    @Test func projectionsComeFromTheFactory() throws {
        var rng = SeededRandom(seed: 34)
        var made: [String] = []
        let factory: LinearFactory<Double> = { input, output, name, rng in
            made.append(name)
            return try DenseLinear<Double>(input, output, bias: false, name: name, rng: &rng)
        }
        let attention = try MultiHeadSelfAttention<Double>(features: 4, heads: 1, sequenceLength: 2, name: "blocks.0.attention",
                                                           linear: factory, rng: &rng)
        #expect(made == ["blocks.0.attention.query", "blocks.0.attention.key", "blocks.0.attention.value", "blocks.0.attention.output"])
        #expect(attention.parameters.count == 4)
    }

    @Test func shapeErrors() throws {
        var rng = SeededRandom(seed: 35)
        let dense: LinearFactory<Float> = LinearFactories.dense()
        func make(features: Int = 8, heads: Int = 2, length: Int = 8, pattern: AttentionScorePattern = .dense) throws {
            _ = try MultiHeadSelfAttention<Float>(features: features, heads: heads, sequenceLength: length,
                                                  scorePattern: pattern, linear: dense, rng: &rng)
        }
        #expect(throws: ShapeError.self) { try make(heads: 3) }                                          // heads ∤ channels
        #expect(throws: ShapeError.self) { try make(length: 0) }
        #expect(throws: ShapeError.self) { try make(pattern: .flatButterfly(blockSize: 3, factors: 1)) } // block ∤ T
        #expect(throws: ShapeError.self) { try make(length: 12, pattern: .flatButterfly(blockSize: 4, factors: 1)) } // 3 blocks
        #expect(throws: ShapeError.self) { try make(pattern: .flatButterfly(blockSize: 2, factors: 3)) } // K > log2 4
        #expect(throws: ShapeError.self) { try make(pattern: .flatButterfly(blockSize: 2, factors: 0)) }
        #expect(throws: ShapeError.self) { try make(pattern: .flatButterfly(blockSize: 8, factors: 1)) } // one block
        let attention = try MultiHeadSelfAttention<Float>(features: 8, heads: 2, sequenceLength: 8, linear: dense, rng: &rng)
        #expect(throws: ShapeError.self) { try attention(Matrix(rows: 12, cols: 8)) }                   // T ∤ rows
        #expect(throws: ShapeError.self) { try attention(Matrix(rows: 8, cols: 6)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        _ = try attention(Matrix(rows: 8, cols: 8))
        #expect(throws: ShapeError.self) {
            try attention.backward(input: Matrix(rows: 16, cols: 8), outputGradient: Matrix(rows: 16, cols: 8), inputGradient: &dx)
        }
    }

    @Test func flatButterflyGridContent() throws {
        let grid = try FlatButterflyScoreGrid(blocks: 16, factors: 2)
        for i in 0..<16 {
            let allowed = grid.allowedKeyBlocks(i)
            // K + 1 blocks per row: i itself and i with bit 0 or bit 1 flipped.
            #expect(allowed == [i, i ^ 1, i ^ 2].sorted())
            for j in 0..<16 { #expect(grid.isAllowed(i, j) == grid.isAllowed(j, i)) }
            // Block-diagonal in super-blocks of 2^K = 4.
            #expect(allowed.allSatisfy { $0 / 4 == i / 4 })
        }
        let full = try FlatButterflyScoreGrid(blocks: 8, factors: 3)
        #expect(full.allowedKeyBlocks(5) == [1, 4, 5, 7])
        #expect(throws: ShapeError.self) { try FlatButterflyScoreGrid(blocks: 6, factors: 1) }
        #expect(throws: ShapeError.self) { try FlatButterflyScoreGrid(blocks: 8, factors: 4) }
    }
}
