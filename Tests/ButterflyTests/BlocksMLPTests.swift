import PixelflyModels
import PixelflyCore
import Testing

@Suite("Blocks: MLP and pre-norm residual")
struct BlocksMLPTests {
    @Test func mlpMatchesReference() throws {
        var rng = SeededRandom(seed: 21)
        let mlp = try MLPBlock<Float>(features: 12, hiddenFeatures: 40, linear: LinearFactories.dense(), rng: &rng)
        let x = Matrix<Float>(rows: 9, cols: 12, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let hidden = try BlocksReference.linear(x, mlp.fc1).map(BlocksReference.gelu)
        var reference = try NaiveReference.gemm(hidden, .none, mlp.fc2.denseWeight().converted(to: Double.self), .transposed)
        let bias = (mlp.fc2 as! DenseLinear<Float>).bias!.value
        for i in 0..<reference.rows { for j in 0..<reference.cols { reference[i, j] += Double(bias[0, j]) } }
        let error = compare(try mlp(x), reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
        #expect(mlp.parameters.map(\.name) == ["mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"])
    }

    @Test func mlpGradient() throws {
        var rng = SeededRandom(seed: 22)
        for bias in [true, false] {
            let mlp = try MLPBlock<Double>(features: 6, hiddenFeatures: 10, linear: LinearFactories.dense(bias: bias), rng: &rng)
            let x = Matrix<Double>(rows: 5, cols: 6, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
            let result = try gradientCheck(mlp, input: x)
            #expect(result.worst < 1e-6, "\(result)")
            #expect(result.errors.count == (bias ? 5 : 3))
        }
    }

    @Test func preNormResidualGradient() throws {
        var rng = SeededRandom(seed: 23)
        let mlp = try MLPBlock<Double>(features: 8, hiddenFeatures: 16, linear: LinearFactories.dense(), rng: &rng)
        let block = try PreNormResidual(features: 8, body: mlp, name: "block")
        try block.norm.gain.assign(Matrix(rows: 1, cols: 8, initializer: .uniform(low: 0.5, high: 1.5), rng: &rng))
        try block.norm.bias.assign(Matrix(rows: 1, cols: 8, initializer: .uniform(low: -0.5, high: 0.5), rng: &rng))
        let x = Matrix<Double>(rows: 6, cols: 8, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let result = try gradientCheck(block, input: x)
        #expect(result.worst < 1e-6, "\(result)")
        // y = x + fc2(GELU(fc1(LayerNorm(x)))), every step in plain Double loops.
        let normed = BlocksReference.layerNorm(x, gain: block.norm.gain.value, bias: block.norm.bias.value,
                                               epsilon: block.norm.epsilon)
        let hidden = try BlocksReference.linear(normed, mlp.fc1).map(BlocksReference.gelu)
        var reference = try BlocksReference.linear(hidden, mlp.fc2)
        for i in 0..<x.rows { for j in 0..<x.cols { reference[i, j] += x[i, j] } }
        let error = compare(try block(x), reference)
        #expect(error.maxAbs < 1e-12, "\(error)")
    }

    @Test func mlpShapeErrors() throws {
        var rng = SeededRandom(seed: 24)
        #expect(throws: ShapeError.self) { try MLPBlock<Float>(features: 0, hiddenFeatures: 4, linear: LinearFactories.dense(), rng: &rng) }
        // A factory that ignores the requested shape is caught at construction.
        let wrong: LinearFactory<Float> = { _, _, name, rng in try DenseLinear<Float>(3, 3, name: name, rng: &rng) }
        #expect(throws: ShapeError.self) { try MLPBlock<Float>(features: 4, hiddenFeatures: 8, linear: wrong, rng: &rng) }
        let mlp = try MLPBlock<Float>(features: 4, hiddenFeatures: 8, linear: LinearFactories.dense(), rng: &rng)
        #expect(throws: ShapeError.self) { try mlp(Matrix(rows: 2, cols: 5)) }
    }
}
