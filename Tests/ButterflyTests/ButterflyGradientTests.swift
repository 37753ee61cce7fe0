import Butterfly
import PixelflyCore
import Testing

/// Backward passes of learnable butterflies against central finite differences in Double
/// (`gradientCheck`: h = 1e-5, relative error ≤ 1e-6 on sampled coordinates of the input and
/// of the twiddles).
@Suite("Butterfly gradients")
struct ButterflyGradientTests {
    /// (field, sharing, products, n, batch, bit-reversed input): covers real and complex,
    /// untied and tied twiddles, both stride orders, a stacked B·Bᵀ product, the 4-lane SIMD
    /// path with a padded tail (batch 5, 7) and the one-lane path (batch 1, 2).
    static let cases: [(ButterflyField, TwiddleSharing, [StrideOrder], Int, Int, Bool)] = [
        (.real, .perPair, [.increasing], 8, 5, false),
        (.real, .perStride, [.decreasing], 16, 2, false),
        (.real, .perPair, [.increasing, .decreasing], 8, 1, true),
        (.complex, .perPair, [.increasing], 8, 7, true),
        (.complex, .perStride, [.increasing], 16, 2, true),
        (.complex, .perPair, [.decreasing, .increasing], 4, 5, false),
    ]

    @Test(arguments: cases.indices)
    func backwardMatchesFiniteDifferences(caseIndex: Int) throws {
        let (field, sharing, products, n, batch, bitReversed) = Self.cases[caseIndex]
        let layout = try ButterflyLayout(n: n, field: field, sharing: sharing, products: products)
        var rng = SeededRandom(seed: UInt64(caseIndex + 1))
        let layer = try ButterflyLayer(ButterflyMatrix<Double>.random(layout: layout, rng: &rng),
                                       inputPermutation: bitReversed ? BitReversal.permutation(n) : nil)
        let x = TransformCheck.signals(Double.self, batch: batch, scalarsPerRow: n * layout.scalarsPerElement, seed: 3)
        let result = try gradientCheck(layer, input: x, samples: 40)
        #expect(result.worst < 1e-6, "\(field) \(sharing) \(products) n=\(n) batch=\(batch): \(result)")
    }

    /// The layer's forward is the matrix product, and its backward refuses a batch it has no
    /// activations for.
    @Test func layerForwardMatchesMatrixAndBackwardNeedsForward() throws {
        var rng = SeededRandom(seed: 11)
        let b = ButterflyMatrix<Float>.random(layout: try ButterflyLayout(n: 32, field: .complex), rng: &rng)
        let layer = try ButterflyLayer(b)
        let x = TransformCheck.signals(Float.self, batch: 9, scalarsPerRow: 64, seed: 2)
        var expected = Matrix<Float>(rows: 0, cols: 0)
        try b.multiply(x, into: &expected, workspace: ButterflyWorkspace())
        #expect(try layer(x) == expected)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        let other = TransformCheck.signals(Float.self, batch: 4, scalarsPerRow: 64, seed: 3)
        #expect(throws: ShapeError.self) { try layer.backward(input: other, outputGradient: other, inputGradient: &dx) }
        #expect(throws: (any Error).self) { try ButterflyLayer(b, inputPermutation: [0, 1]) }
    }
}
