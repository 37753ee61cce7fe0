import Butterfly
import LowRank
import PixelflyModels
import PixelflyCore
import Testing

/// Weight sharing (one layer used twice in a forward pass): layers that cache activations throw
/// `LayerReuseError` on the backward of the earlier use instead of using the later use's cache;
/// layers whose backward needs only x and the weights accumulate both uses' gradients.
@Suite("Layers used twice in one forward pass")
struct LayerReuseTests {
    static func cachingLayers(_ rng: inout SeededRandom) throws -> [(String, any LinearLayer<Float>)] {
        let mask = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 8)
        return [("LowRankLinear", try LowRankLinear<Float>(32, 32, rank: 4, bias: true, rng: &rng)),
                ("PixelflyLinear sum", try PixelflyLinear<Float>(32, 32, mask: mask, rank: 4, rng: &rng)),
                ("PixelflyLinear gated", try PixelflyLinear<Float>(32, 32, mask: mask, rank: 4, combination: .gated, rng: &rng)),
                ("MonarchLinear", try MonarchLinear<Float>(32, 32, nblocks: 4, rng: &rng)),
                ("ButterflyLinear", try ButterflyLinear<Float>(32, 32, rng: &rng))]
    }

    @Test func cachingLayersRefuseTheBackwardOfAnEarlierUse() throws {
        var rng = SeededRandom(seed: 11)
        for (name, layer) in try Self.cachingLayers(&rng) {
            let x1 = Matrix<Float>(rows: 3, cols: 32, initializer: .uniform(low: -1, high: 1), rng: &rng)
            var y1 = Matrix<Float>(rows: 0, cols: 0), y2 = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x1, into: &y1)
            try layer.forward(y1, into: &y2)          // the same layer again, on its own output
            let dy = Matrix<Float>(rows: 3, cols: 32, repeating: 1)
            try layer.backward(input: y1, outputGradient: dy, inputGradient: &dx)   // latest use: fine
            #expect(throws: LayerReuseError.self, "\(name)") {
                try layer.backward(input: x1, outputGradient: dx, inputGradient: &dx)
            }
            // After a fresh forward on x1 its backward runs again.
            try layer.forward(x1, into: &y1)
            try layer.backward(input: x1, outputGradient: dy, inputGradient: &dx)
        }
    }

    /// Dense: y = W·(W·x) as two uses of one layer; dW = dy₂ᵀ·y₁ + dy₁ᵀ·x (both uses).
    @Test func denseLayerSupportsReuse() throws {
        var rng = SeededRandom(seed: 12)
        let layer = try DenseLinear<Double>(6, 6, bias: false, rng: &rng)
        let x = Matrix<Double>(rows: 4, cols: 6, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy2 = Matrix<Double>(rows: 4, cols: 6, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var y1 = Matrix<Double>(rows: 0, cols: 0), y2 = Matrix<Double>(rows: 0, cols: 0)
        var dy1 = Matrix<Double>(rows: 0, cols: 0), dx = Matrix<Double>(rows: 0, cols: 0)
        try layer.forward(x, into: &y1)
        try layer.forward(y1, into: &y2)
        layer.zeroGradients()
        try layer.backward(input: y1, outputGradient: dy2, inputGradient: &dy1)
        try layer.backward(input: x, outputGradient: dy1, inputGradient: &dx)
        let w = layer.weight.value
        // Independent reference: dy₁ = dy₂·W, dW = dy₂ᵀ·y₁ + dy₁ᵀ·x, written out as loops.
        for i in 0..<6 {
            for j in 0..<6 {
                var expected = 0.0
                for r in 0..<4 {
                    var dy1rj = 0.0
                    for k in 0..<6 { dy1rj += dy2[r, k] * w[k, i] }
                    expected += dy2[r, i] * y1[r, j] + dy1rj * x[r, j]
                }
                #expect(abs(layer.weight.gradient[i, j] - expected) < 1e-12)
            }
        }
    }

    /// Block-sparse: the shared layer's gradients equal those of an identical layer run through
    /// the two uses one at a time (each forward directly before its backward), and dx = dy₂·W·W.
    @Test func blockSparseLayerSupportsReuse() throws {
        let mask = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 4)
        var rngA = SeededRandom(seed: 13), rngB = SeededRandom(seed: 13), rng = SeededRandom(seed: 14)
        let shared = try BlockSparseLinear<Double>(16, 16, mask: mask, rng: &rngA)
        let reference = try BlockSparseLinear<Double>(16, 16, mask: mask, rng: &rngB)
        let x = Matrix<Double>(rows: 3, cols: 16, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy2 = Matrix<Double>(rows: 3, cols: 16, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var y1 = Matrix<Double>(rows: 0, cols: 0), y2 = Matrix<Double>(rows: 0, cols: 0)
        var dy1 = Matrix<Double>(rows: 0, cols: 0), dx = Matrix<Double>(rows: 0, cols: 0)
        try shared.forward(x, into: &y1)
        try shared.forward(y1, into: &y2)
        try shared.backward(input: y1, outputGradient: dy2, inputGradient: &dy1)
        try shared.backward(input: x, outputGradient: dy1, inputGradient: &dx)

        var r1 = Matrix<Double>(rows: 0, cols: 0), r2 = Matrix<Double>(rows: 0, cols: 0)
        var rdy1 = Matrix<Double>(rows: 0, cols: 0), rdx = Matrix<Double>(rows: 0, cols: 0)
        try reference.forward(x, into: &r1)
        try reference.forward(r1, into: &r2)
        try reference.backward(input: r1, outputGradient: dy2, inputGradient: &rdy1)
        try reference.forward(x, into: &r1)
        try reference.backward(input: x, outputGradient: rdy1, inputGradient: &rdx)
        #expect(try shared.weight.gradient.maxAbsDifference(reference.weight.gradient) < 1e-12)
        #expect(try shared.bias!.gradient.maxAbsDifference(reference.bias!.gradient) < 1e-12)
        let w = shared.denseWeight()
        let expected = try matmul(matmul(dy2, .none, w, .none), .none, w, .none)
        #expect(try dx.maxAbsDifference(expected) < 1e-12)
    }

    /// Blocks that cache activations (norm, MLP, attention, softmax, dropout, and a residual
    /// through its norm) refuse the backward of an earlier use the same way.
    @Test func cachingBlocksRefuseTheBackwardOfAnEarlierUse() throws {
        var rng = SeededRandom(seed: 15)
        let blocks: [(String, any Layer<Float>)] = [
            ("LayerNorm", try LayerNorm<Float>(features: 8)),
            ("MLPBlock", try MLPBlock<Float>(features: 8, hiddenFeatures: 16, linear: LinearFactories.dense(), rng: &rng)),
            ("MultiHeadSelfAttention", try MultiHeadSelfAttention<Float>(features: 8, heads: 2, sequenceLength: 4,
                                                                         linear: LinearFactories.dense(), rng: &rng)),
            ("Softmax", Softmax<Float>()),
            ("Dropout", try Dropout<Float>(probability: 0.5, seed: 1)),
            ("PreNormResidual", try PreNormResidual<Float>(features: 8, body: GELU<Float>())),
        ]
        for (name, block) in blocks {
            let x1 = Matrix<Float>(rows: 4, cols: 8, initializer: .uniform(low: -1, high: 1), rng: &rng)
            var y1 = Matrix<Float>(rows: 0, cols: 0), y2 = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            try block.forward(x1, into: &y1)
            try block.forward(y1, into: &y2)
            let dy = Matrix<Float>(rows: 4, cols: 8, repeating: 1)
            try block.backward(input: y1, outputGradient: dy, inputGradient: &dx)
            #expect(throws: LayerReuseError.self, "\(name)") {
                try block.backward(input: x1, outputGradient: dy, inputGradient: &dx)
            }
        }
    }
}
