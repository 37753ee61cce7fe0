import Butterfly
import PixelflyModels
import PixelflyCore
import Testing

/// The blocks with Pixelfly (flat block butterfly + low-rank) linears in every projection: the
/// factory is the only change.
@Suite("Attention and MLP with Pixelfly linears")
struct AttentionPixelflyTests {
    static func pixelfly<S: TensorScalar>() -> LinearFactory<S> {
        { input, output, name, rng in
            try PixelflyLinear<S>(input, output, mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 2),
                                  rank: 2, name: name, rng: &rng)
        }
    }

    @Test func forwardMatchesReferenceOnEffectiveWeights() throws {
        var rng = SeededRandom(seed: 51)
        let attention = try MultiHeadSelfAttention<Float>(features: 16, heads: 2, sequenceLength: 8, causal: true,
                                                          scorePattern: .flatButterfly(blockSize: 2, factors: 2),
                                                          linear: Self.pixelfly(), rng: &rng)
        #expect(attention.output is PixelflyLinear<Float>)
        let x = Matrix<Float>(rows: 16, cols: 16, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let reference = try BlocksReference.attention(
            x, attention, allowed: BlocksReference.mask(causal: true, pattern: .flatButterfly(blockSize: 2, factors: 2)))
        let error = compare(try attention(x), reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
    }

    @Test func gradients() throws {
        var rng = SeededRandom(seed: 52)
        let attention = try MultiHeadSelfAttention<Double>(features: 8, heads: 2, sequenceLength: 8, causal: true,
                                                           scorePattern: .flatButterfly(blockSize: 2, factors: 1),
                                                           linear: Self.pixelfly(), rng: &rng)
        let x = Matrix<Double>(rows: 16, cols: 8, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(attention, input: x, samples: 16)
        // The key projection's bias has an exactly-zero gradient (see AttentionTests).
        #expect(result.errors.filter { $0.0 != "attention.key.bias" }.allSatisfy { $0.1 < 1e-6 }, "\(result)")

        let mlp = try MLPBlock<Double>(features: 8, hiddenFeatures: 16, linear: Self.pixelfly(), rng: &rng)
        let mlpResult = try gradientCheck(PreNormResidual(features: 8, body: mlp), input: x, samples: 16)
        #expect(mlpResult.worst < 1e-6, "\(mlpResult)")
    }

    @Test func steadyStateIsAllocationFree() throws {
        var rng = SeededRandom(seed: 53)
        let attention = try MultiHeadSelfAttention<Float>(features: 16, heads: 2, sequenceLength: 8, causal: false,
                                                          scorePattern: .flatButterfly(blockSize: 2, factors: 2),
                                                          linear: Self.pixelfly(), rng: &rng)
        let mlp = try MLPBlock<Float>(features: 16, hiddenFeatures: 32, linear: Self.pixelfly(), rng: &rng)
        for block in [try PreNormResidual(features: 16, body: attention), try PreNormResidual(features: 16, body: mlp)] {
            let x = Matrix<Float>(rows: 16, cols: 16, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
            var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
            func step() throws {
                try block.forward(x, into: &y)
                try block.backward(input: x, outputGradient: x, inputGradient: &dx)
            }
            try step()
            let count = try countAllocations { try step() }
            #expect(count == 0, "\(count) allocations in a steady-state step")
        }
    }
}
