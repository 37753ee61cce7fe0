import Butterfly
import LowRank
import PixelflyCore
import Testing

/// The code of the DocC getting-started article (Sources/Butterfly/Butterfly.docc/GettingStarted.md),
/// compiled and run, so the article cannot drift from the API. In `LayerCallTests`' serialized
/// suite because it draws from `DefaultRandom`, which that suite resets.
extension LayerCallTests {
    final class TinyMLP {
        let fc1: PixelflyLinear<Float>
        let fc2: DenseLinear<Float>
        private var hidden = Matrix<Float>(rows: 0, cols: 0)
        private var hiddenGradient = Matrix<Float>(rows: 0, cols: 0)
        private var inputGradient = Matrix<Float>(rows: 0, cols: 0)

        init(rng: inout SeededRandom) throws {
            fc1 = try PixelflyLinear(784, 1024,
                mask: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 16), rank: 16, rng: &rng)
            fc2 = try DenseLinear(1024, 10, rng: &rng)
        }

        var parameters: [Parameter<Float>] { fc1.parameters + fc2.parameters }

        func forward(_ x: Matrix<Float>, into logits: inout Matrix<Float>) throws {
            try fc1(x, into: &hidden)
            try fc2(hidden, into: &logits)
        }

        func backward(_ x: Matrix<Float>, _ dLogits: Matrix<Float>) throws {
            try fc2.backward(input: hidden, outputGradient: dLogits, inputGradient: &hiddenGradient)
            try fc1.backward(input: x, outputGradient: hiddenGradient, inputGradient: &inputGradient)
        }
    }

    @Test func gettingStartedArticleCodeRuns() throws {
        let mask = FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32)
        let dense = try DenseLinear<Float>(1024, 4096)
        let lowRank = try LowRankLinear<Float>(1024, 4096, rank: 64, bias: true)
        let pixelfly = try PixelflyLinear<Float>(1024, 4096, mask: mask, rank: 64)
        var rng = SeededRandom(seed: 42)
        let seeded = try PixelflyLinear<Float>(1024, 4096, mask: mask, rank: 64, rng: &rng)
        #expect([dense.outputFeatures, lowRank.outputFeatures, pixelfly.outputFeatures, seeded.outputFeatures] == [4096, 4096, 4096, 4096])

        let x = Matrix<Float>(rows: 8, cols: 1024, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0)
        try pixelfly(x, into: &y)
        let dy = Matrix<Float>(rows: 8, cols: 4096, repeating: 0.01)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        pixelfly.zeroGradients()
        try pixelfly(x, into: &y)
        try pixelfly.backward(input: x, outputGradient: dy, inputGradient: &dx)
        #expect(dx.rows == 8 && dx.cols == 1024)
        #expect(pixelfly.parameters.map(\.name).contains("pixelfly.sparse.weight"))

        let model = try TinyMLP(rng: &rng)
        let images = Matrix<Float>(rows: 4, cols: 784, initializer: .uniform(low: 0, high: 1), rng: &rng)
        var logits = Matrix<Float>(rows: 0, cols: 0)
        try model.forward(images, into: &logits)
        try model.backward(images, Matrix(rows: 4, cols: 10, repeating: 0.1))
        #expect(logits.rows == 4 && logits.cols == 10)
        #expect(model.parameters.contains { $0.gradient.storage.contains { $0 != 0 } })
    }
}
