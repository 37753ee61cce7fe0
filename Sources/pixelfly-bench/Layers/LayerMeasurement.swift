import PixelflyCore

/// One row of `pixelfly-bench layers`: a layer kind at one shape, batch and thread count.
struct LayerMeasurement: Codable, Sendable {
    var input: Int
    var output: Int
    var batch: Int
    var threads: Int
    var kind: String
    /// Block size b of the flat butterfly mask of the sparse kinds at this shape (nil: not set).
    var blockSize: Int?
    var forwardFLOPsPerRow: Int
    var forward: TimingSample
    var forwardBackward: TimingSample
    /// Median time ÷ the faster dense layer's median time in the same interleaved run (of
    /// `LayerSettings.denseKinds`, per metric: `forwardBaseline`, `forwardBackwardBaseline`).
    var forwardRatio: Double
    var forwardBackwardRatio: Double
    /// The dense kind each ratio divides by.
    var forwardBaseline: String
    var forwardBackwardBaseline: String
    /// Smallest and largest per-repetition forward+backward ratio (see `RatioSpread`).
    var forwardBackwardRatioSpread: RatioSpread
    /// Nonzero FLOPs (batch × forwardFLOPsPerRow, ×3 with backward) per second.
    var forwardGFLOPs: Double
    var forwardBackwardGFLOPs: Double
    /// Max |y − y_ref| over the checked rows, y_ref = x·W_effᵀ + b in Double.
    var maxForwardError: Double
    /// Max |y_ref| over the same rows (the error's scale).
    var referenceScale: Double

    /// Times every candidate interleaved with the others (the dense kinds first), forward and
    /// forward+backward, and checks each forward against a Double product with its dense weight.
    static func measure(_ candidates: [LayerCandidate], input: Int, output: Int, batch: Int, threads: Int, blockSize: Int? = nil,
                        warmup: Int, repetitions: Int, checkedRows: Int, seed: UInt64) throws -> [LayerMeasurement] {
        var rng = SeededRandom(seed: seed)
        let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Float>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var ys = candidates.map { _ in Matrix<Float>(rows: 0, cols: 0) }
        var dxs = candidates.map { _ in Matrix<Float>(rows: 0, cols: 0) }
        let forwardBodies: [() throws -> Void] = candidates.indices.map { i in
            { try candidates[i].layer.forward(x, into: &ys[i]) }
        }
        let stepBodies: [() throws -> Void] = candidates.indices.map { i in
            {
                try candidates[i].layer.forward(x, into: &ys[i])
                try candidates[i].layer.backward(input: x, outputGradient: dy, inputGradient: &dxs[i])
            }
        }
        let forward = try measureInterleaved(warmup: warmup, repetitions: repetitions, forwardBodies)
        let steps = try measureInterleaved(warmup: warmup, repetitions: repetitions, stepBodies)
        let denseIndices = candidates.indices.filter { LayerSettings.denseKinds.contains(candidates[$0].kind) }
        func fastest(_ samples: [TimingSample]) -> Int {
            denseIndices.min { samples[$0].median < samples[$1].median } ?? 0
        }
        let (forwardBase, stepBase) = (fastest(forward), fastest(steps))
        return try candidates.indices.map { i in
            let layer = candidates[i].layer
            let flops = Double(batch) * Double(layer.forwardFLOPsPerRow)
            let (error, scale) = try forwardError(layer, x: x, y: ys[i], rows: min(checkedRows, batch))
            return LayerMeasurement(
                input: input, output: output, batch: batch, threads: threads, kind: candidates[i].kind, blockSize: blockSize,
                forwardFLOPsPerRow: layer.forwardFLOPsPerRow, forward: forward[i], forwardBackward: steps[i],
                forwardRatio: forward[i].median / forward[forwardBase].median,
                forwardBackwardRatio: steps[i].median / steps[stepBase].median,
                forwardBaseline: candidates[forwardBase].kind, forwardBackwardBaseline: candidates[stepBase].kind,
                forwardBackwardRatioSpread: RatioSpread(steps[i], over: steps[stepBase]),
                forwardGFLOPs: flops / forward[i].median / 1e9,
                forwardBackwardGFLOPs: 3 * flops / steps[i].median / 1e9,
                maxForwardError: error, referenceScale: scale)
        }
    }

    /// Compares the first `rows` rows of `y` with x·Wᵀ + b computed in Double by BLAS.
    private static func forwardError(_ layer: any LinearLayer<Float>, x: Matrix<Float>, y: Matrix<Float>,
                                     rows: Int) throws -> (Double, Double) {
        let xRows = try Matrix<Double>(rows: rows, cols: x.cols, storage: x.storage[0..<(rows * x.cols)].map(Double.init))
        var reference = try matmul(xRows, .none, layer.denseWeight().converted(to: Double.self), .transposed)
        if let bias = layer.parameters.first(where: { $0.name.hasSuffix(".bias") }) {
            for i in 0..<rows { for j in 0..<reference.cols { reference[i, j] += Double(bias.value[0, j]) } }
        }
        var error = 0.0, scale = 0.0
        for i in 0..<rows {
            for j in 0..<reference.cols {
                error = max(error, abs(Double(y[i, j]) - reference[i, j]))
                scale = max(scale, abs(reference[i, j]))
            }
        }
        return (error, scale)
    }
}
