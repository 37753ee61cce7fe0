@testable import PixelflyModels
import PixelflyCore
import Testing

/// `PooledClassifier`, the end of the ViT and the Mixer (LayerNorm → pool → head): against the
/// three steps written out with plain loops, against finite differences, the order in which it
/// reports finished gradients, and the shapes it refuses.
@Suite("Pooled classifier head")
struct PooledClassifierTests {
    private func classifier(tokens: Int, features: Int, classes: Int, pooling: Pooling) throws -> PooledClassifier<Double> {
        var rng = SeededRandom(seed: 41)
        let norm = try LayerNorm<Double>(features: features, name: "final_norm")
        for p in norm.parameters {
            try p.assign(Matrix(rows: 1, cols: features, initializer: .uniform(low: 0.5, high: 1.5), rng: &rng))
        }
        let head = try DenseLinear<Double>(features, classes, name: "head", rng: &rng)
        return try PooledClassifier(norm: norm, head: head, tokens: tokens, pooling: pooling)
    }

    @Test(arguments: Pooling.allCases)
    func matchesNormPoolHeadWrittenOut(pooling: Pooling) throws {
        let (tokens, features, classes, batch) = (5, 7, 3, 4)
        let model = try classifier(tokens: tokens, features: features, classes: classes, pooling: pooling)
        var rng = SeededRandom(seed: 42)
        let x = Matrix<Double>(rows: batch * tokens, cols: features, initializer: .normal(mean: 0.3, standardDeviation: 2), rng: &rng)
        var logits = Matrix<Double>(rows: 0, cols: 0)
        try model.forward(x, into: &logits)

        let (gain, bias) = (model.norm.gain.value, model.norm.bias.value)
        let (w, b) = (model.head.denseWeight(), model.head.parameters.count > 1 ? model.head.parameters[1].value : nil)
        for image in 0..<batch {
            var pooled = [Double](repeating: 0, count: features)
            let rows = pooling == .mean ? Array(0..<tokens) : [0]
            for t in rows {
                let row = (0..<features).map { x[image * tokens + t, $0] }
                let mean = row.reduce(0, +) / Double(features)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(features)
                for j in 0..<features {
                    let normalized = (row[j] - mean) / (variance + model.norm.epsilon).squareRoot() * gain[0, j] + bias[0, j]
                    pooled[j] += normalized / Double(rows.count)
                }
            }
            for k in 0..<classes {
                let expected = (0..<features).reduce(b?[0, k] ?? 0) { $0 + w[k, $1] * pooled[$1] }
                #expect(abs(logits[image, k] - expected) <= 1e-12 * max(1, abs(expected)), "image \(image) class \(k)")
            }
        }
    }

    @Test(arguments: Pooling.allCases)
    func backwardMatchesFiniteDifferences(pooling: Pooling) throws {
        let model = try classifier(tokens: 4, features: 6, classes: 3, pooling: pooling)
        var rng = SeededRandom(seed: 43)
        let x = Matrix<Double>(rows: 3 * 4, cols: 6, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(model, input: x)
        #expect(result.worst < 1e-6, "\(result)")
    }

    /// The head's gradients are final first (at the index after the norm's two parameters),
    /// then the norm's — the models add their own offset to these indices.
    @Test func reportsTheHeadThenTheNorm() throws {
        let model = try classifier(tokens: 2, features: 4, classes: 3, pooling: .mean)
        var rng = SeededRandom(seed: 44)
        let x = Matrix<Double>(rows: 2 * 2, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var logits = Matrix<Double>(rows: 0, cols: 0), dx = Matrix<Double>(rows: 0, cols: 0)
        try model.forward(x, into: &logits)
        var reported: [Int] = []
        try model.backward(input: x, outputGradient: logits, inputGradient: &dx, gradientsReady: { reported.append($0) })
        #expect(reported == [model.norm.parameters.count, 0])
        #expect(dx.rows == x.rows && dx.cols == x.cols)
    }

    @Test func refusesShapesThatDoNotFit() throws {
        var rng = SeededRandom(seed: 45)
        let norm = try LayerNorm<Double>(features: 4)
        let head = try DenseLinear<Double>(5, 3, rng: &rng)
        #expect(throws: ShapeError.self) { try PooledClassifier(norm: norm, head: head, tokens: 2, pooling: .mean) }
        let fitting = try DenseLinear<Double>(4, 3, rng: &rng)
        #expect(throws: ShapeError.self) { try PooledClassifier(norm: norm, head: fitting, tokens: 0, pooling: .mean) }
        let model = try PooledClassifier(norm: norm, head: fitting, tokens: 3, pooling: .mean)
        var logits = Matrix<Double>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) { try model.forward(Matrix(rows: 7, cols: 4), into: &logits) }
    }
}
