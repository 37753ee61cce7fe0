@testable import PixelflyModels
import PixelflyCore
import Testing

/// `PreNormResidual` around a `DenseTokenMixing` runs the whole block per sequence
/// (`PreNormFusingLayer`): against the same block composed of its three passes (LayerNorm,
/// token mixing, residual add), against finite differences, and its steady state.
@Suite("Pre-norm token mixing")
struct PreNormTokenMixingTests {
    /// A block and its unfused twin with the same weights and a norm with non-trivial γ, β.
    private func blockPair<S: TensorScalar>(_: S.Type, tokens: Int, channels: Int, hidden: Int)
        throws -> (fused: PreNormResidual<S>, norm: LayerNorm<S>, mixing: DenseTokenMixing<S>) {
        var rngA = SeededRandom(seed: 31), rngB = SeededRandom(seed: 31), data = SeededRandom(seed: 32)
        let fused = try PreNormResidual(features: channels, body: DenseTokenMixing<S>(
            tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t", rng: &rngA), name: "t")
        let mixing = try DenseTokenMixing<S>(tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t", rng: &rngB)
        let norm = try LayerNorm<S>(features: channels, name: "t.norm")
        for (a, b) in [(fused.norm.gain, norm.gain), (fused.norm.bias, norm.bias)] {
            let value = Matrix<S>(rows: 1, cols: channels, initializer: .uniform(low: 0.5, high: 1.5), rng: &data)
            try a.assign(value)
            try b.assign(value)
        }
        return (fused, norm, mixing)
    }

    /// Output and input gradient to the bit; the MLP's gradients to the bit; the norm's γ and β
    /// gradients summed in another order (per range of sequences, not per range of rows).
    @Test(arguments: [(16, 768, 32, 5), (4, 9, 7, 3)])
    func matchesTheThreePasses(tokens: Int, channels: Int, hidden: Int, sequences: Int) throws {
        let (fused, norm, mixing) = try blockPair(Float.self, tokens: tokens, channels: channels, hidden: hidden)
        var data = SeededRandom(seed: 33)
        let x = Matrix<Float>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -2, high: 2), rng: &data)
        let dy = Matrix<Float>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -1, high: 1), rng: &data)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        var (normalized, reference, dNormalized, dxReference) = (y, y, y, y)
        for _ in 0..<2 { // gradients accumulate; the second pass reuses every buffer
            try fused.forward(x, into: &y)
            try fused.backward(input: x, outputGradient: dy, inputGradient: &dx)
            try norm.forward(x, into: &normalized)
            try mixing.forward(normalized, into: &reference)
            try addResidual(x, to: &reference)
            try mixing.backward(input: normalized, outputGradient: dy, inputGradient: &dNormalized)
            try norm.backward(input: x, outputGradient: dNormalized, addingSkipGradient: dy, inputGradient: &dxReference)
        }
        #expect(y.storage == reference.storage)
        #expect(dx.storage == dxReference.storage)
        let unfused = norm.parameters + mixing.parameters
        #expect(fused.parameters.map(\.name) == unfused.map(\.name))
        for (a, b) in zip(fused.parameters, unfused) {
            let error = compare(a.gradient, b.gradient.converted(to: Double.self))
            #expect(error.maxRel < 1e-5, "\(a.name): \(error)")
        }
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        let (fused, _, _) = try blockPair(Double.self, tokens: 8, channels: 6, hidden: 10)
        var rng = SeededRandom(seed: 34)
        let x = Matrix<Double>(rows: 3 * 8, cols: 6, initializer: .uniform(low: -2, high: 2), rng: &rng)
        let result = try gradientCheck(fused, input: x)
        #expect(result.worst < 1e-6, "\(result)")
    }

    @Test func steadyStateIsAllocationFree() throws {
        let (fused, _, _) = try blockPair(Float.self, tokens: 16, channels: 32, hidden: 64)
        var rng = SeededRandom(seed: 35)
        let x = Matrix<Float>(rows: 4 * 16, cols: 32, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        try fused.forward(x, into: &y)
        try fused.backward(input: x, outputGradient: x, inputGradient: &dx)
        #expect(try countAllocations {
            try fused.forward(x, into: &y)
            try fused.backward(input: x, outputGradient: x, inputGradient: &dx)
        } == 0)
    }

    /// A norm of another width is refused by name, not run out of bounds.
    @Test func rejectsANormOfAnotherWidth() throws {
        var rng = SeededRandom(seed: 36)
        let mixing = try DenseTokenMixing<Float>(tokens: 4, channels: 8, hiddenFeatures: 5, name: "t", rng: &rng)
        let norm = try LayerNorm<Float>(features: 6)
        var y = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) { try mixing.forward(Matrix<Float>(rows: 8, cols: 8), preNorm: norm, into: &y) }
    }
}
