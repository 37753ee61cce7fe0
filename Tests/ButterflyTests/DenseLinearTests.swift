import PixelflyCore
import Testing

@Suite("DenseLinear")
struct DenseLinearTests {
    @Test func forwardMatchesReference() throws {
        var rng = SeededRandom(seed: 5)
        let layer = try DenseLinear<Float>(13, 7, rng: &rng)
        let x = Matrix<Float>(rows: 9, cols: 13, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let y = try layer(x)
        var reference = try NaiveReference.gemm(x, .none, layer.weight.value, .transposed)
        for i in 0..<reference.rows { for j in 0..<reference.cols { reference[i, j] += Double(layer.bias!.value[0, j]) } }
        let error = compare(y, reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 6)
        for bias in [true, false] {
            let layer = try DenseLinear<Double>(11, 5, bias: bias, rng: &rng)
            let x = Matrix<Double>(rows: 4, cols: 11, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
            let result = try gradientCheck(layer, input: x)
            #expect(result.worst < 1e-6, "\(result)")
            #expect(result.errors.count == (bias ? 3 : 2))
        }
    }

    @Test func wrongInputWidthThrows() throws {
        var rng = SeededRandom(seed: 1)
        let layer = try DenseLinear<Float>(8, 4, rng: &rng)
        #expect(throws: ShapeError.self) { try layer(Matrix<Float>(rows: 2, cols: 7)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 8), outputGradient: Matrix(rows: 3, cols: 4), inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) { try DenseLinear<Float>(0, 4, rng: &rng) }
    }
}
