import Butterfly
import LowRank
import PixelflyCore
import Testing

/// The quick-use layer API: `layer(x, into: &y)` allocates nothing once `y` is sized, and the
/// initialisers without `rng:` draw from `DefaultRandom` (different weights per layer,
/// reproducible after `DefaultRandom.reset()`).
@Suite("Layers: callAsFunction into a buffer, quick initialisers", .serialized)
struct LayerCallTests {
    static func quickLayers() throws -> [any LinearLayer<Float>] {
        let mask = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 8)
        return [try DenseLinear<Float>(32, 64), try LowRankLinear<Float>(32, 64, rank: 4, bias: true),
                try BlockSparseLinear<Float>(32, 64, mask: mask), try PixelflyLinear<Float>(32, 64, mask: mask, rank: 4),
                try ButterflyLinear<Float>(32, 64)]
    }

    @Test func callIntoBufferAllocatesNothing() throws {
        var rng = SeededRandom(seed: 2)
        let x = Matrix<Float>(rows: 8, cols: 32, initializer: .uniform(low: -1, high: 1), rng: &rng)
        for layer in try Self.quickLayers() {
            var y = Matrix<Float>(rows: 0, cols: 0)
            try layer(x, into: &y)
            let count = try countAllocations { try layer(x, into: &y) }
            #expect(count == 0, "\(type(of: layer)): \(count) allocations")
            var reference = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(x, into: &reference)
            #expect(y == reference)
            #expect(try layer(x) == reference)
        }
    }

    @Test func quickInitialisersDifferAndReproduce() throws {
        DefaultRandom.reset()
        let first = try Self.quickLayers().map { $0.denseWeight() }
        DefaultRandom.reset()
        let again = try Self.quickLayers().map { $0.denseWeight() }
        #expect(first == again, "the same order after reset gives the same weights")
        let a = try DenseLinear<Float>(8, 8), b = try DenseLinear<Float>(8, 8)
        #expect(a.weight.value != b.weight.value, "two quick layers must not share weights")
        var rng = SeededRandom(seed: 4), same = SeededRandom(seed: 4)
        #expect(try DenseLinear<Float>(8, 8, rng: &rng).weight.value == DenseLinear<Float>(8, 8, rng: &same).weight.value)
        #expect(a.inputFeatures == 8 && a.outputFeatures == 8)
        let wide = try DenseLinear<Float>(3, 5)
        #expect(wide.inputFeatures == 3 && wide.outputFeatures == 5 && wide.weight.value.rows == 5)
    }
}
