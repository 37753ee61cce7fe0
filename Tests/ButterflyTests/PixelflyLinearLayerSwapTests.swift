import Butterfly
import LowRank
import PixelflyCore
import Testing

/// Every linear kind behind the one `LinearLayer` protocol: the same generic code trains each.
@Suite("LinearLayer: one protocol for every linear")
struct PixelflyLinearLayerSwapTests {
    /// One SGD step on a fixed regression target through the protocol only; the loss must drop
    /// (the gradients it follows are checked against finite differences first).
    func trainStep(_ layer: any LinearLayer<Double>, x: Matrix<Double>, target: Matrix<Double>) throws -> (Double, Double) {
        func loss() throws -> (Double, Matrix<Double>) {
            let y = try layer(x)
            var dy = y
            var total = 0.0
            for i in 0..<y.rows { for j in 0..<y.cols { dy[i, j] = y[i, j] - target[i, j]; total += 0.5 * dy[i, j] * dy[i, j] } }
            return (total, dy)
        }
        let (before, dy) = try loss()
        layer.zeroGradients()
        var dx = Matrix<Double>(rows: 0, cols: 0)
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        #expect(dx.rows == x.rows && dx.cols == x.cols)
        for p in layer.parameters {
            try p.assign(try Matrix(rows: p.value.rows, cols: p.value.cols,
                                    storage: zip(p.value.storage, p.gradient.storage).map { $0 - 0.002 * $1 }))
        }
        return (before, try loss().0)
    }

    @Test func everyKindConformsAndTrains() throws {
        var rng = SeededRandom(seed: 9)
        let config = FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8)
        let layers: [any LinearLayer<Double>] = [
            try DenseLinear<Double>(64, 32, rng: &rng),
            try LowRankLinear<Double>(64, 32, rank: 4, bias: true, rng: &rng),
            try BlockSparseLinear<Double>(mask: FlatButterflyMask(outputFeatures: 32, inputFeatures: 64, configuration: config), rng: &rng),
            try PixelflyLinear<Double>(64, 32, mask: config, rank: 4, rng: &rng),
            try PixelflyLinear<Double>(64, 32, mask: config, rank: 4, combination: .gated, rng: &rng),
        ]
        let x = Matrix<Double>(rows: 8, cols: 64, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let target = Matrix<Double>(rows: 8, cols: 32, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        for layer in layers {
            #expect(layer.inputFeatures == 64 && layer.outputFeatures == 32)
            // Through the protocol only: the forward is x·Wᵀ + b for the layer's dense weight
            // (plain Double loops), and every gradient matches central differences of the loss.
            let forward = compare(try layer(x), try BlocksReference.linear(x, layer))
            #expect(forward.maxAbs < 1e-12, "\(type(of: layer)) forward: \(forward)")
            let gradients = try gradientCheck(layer, input: x)
            #expect(gradients.worst < 1e-6, "\(type(of: layer)) gradients: \(gradients)")
            #expect(gradients.errors.count == 1 + layer.parameters.count)
            let (before, after) = try trainStep(layer, x: x, target: target)
            #expect(after < before, "\(type(of: layer)): loss \(before) → \(after)")
        }
        // FLOP counts follow the structure: dense 2·in·out; sparse 2·nnz; low-rank 2·r·(in+out).
        #expect(layers[0].forwardFLOPsPerRow == 2 * 64 * 32)
        #expect(layers[1].forwardFLOPsPerRow == 2 * 4 * 96)
        #expect(layers[2].forwardFLOPsPerRow == 2 * 64 * 32 / 2)
        #expect(layers[3].forwardFLOPsPerRow == layers[2].forwardFLOPsPerRow + layers[1].forwardFLOPsPerRow)
    }
}
