import Foundation
import PixelflyModels
import PixelflyCore
import Testing

private func randomMatrix<S: TensorScalar>(_ rows: Int, _ cols: Int, _ rng: inout SeededRandom, scale: Double = 1) -> Matrix<S> {
    Matrix(rows: rows, cols: cols, initializer: .normal(mean: 0, standardDeviation: scale), rng: &rng)
}

@Suite("Blocks: GELU, LayerNorm, softmax, dropout, residual")
struct BlocksTests {
    @Test func geluMatchesTanhFormula() throws {
        var rng = SeededRandom(seed: 11)
        let x: Matrix<Float> = randomMatrix(7, 33, &rng, scale: 3)
        let y = try GELU<Float>()(x)
        let reference = x.converted(to: Double.self).map(BlocksReference.gelu)
        let error = compare(y, reference)
        #expect(error.maxAbs < 1e-5, "\(error)")
        // Saturation, in the eight-lane path and the scalar tail: no NaN, (almost) 0 far left,
        // the identity far right.
        let inputs: [Float] = [-1e30, -1000, -50, -20, 0, 20, 50, 1000, 1e30, -1000, 1000]
        let extremes = try GELU<Float>()(Matrix([inputs]))
        for (x, y) in zip(inputs, extremes.storage) {
            #expect(x <= 0 ? abs(y) < 1e-30 : y == x, "gelu(\(x)) = \(y)")
        }
    }

    @Test func geluStaysWithinDocumentedDistanceOfExactGELU() throws {
        let x = try Matrix<Double>([(0..<2001).map { Double($0 - 1000) / 100 }])
        let y = try GELU<Double>()(x)
        let distance = zip(x.storage, y.storage).map { abs($1 - 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot()))) }.max()!
        #expect(distance < 4.8e-4 && distance > 4.5e-4, "max |tanh form − exact| = \(distance)")
    }

    @Test func geluGradient() throws {
        var rng = SeededRandom(seed: 12)
        let result = try gradientCheck(GELU<Double>(), input: randomMatrix(5, 9, &rng, scale: 2))
        #expect(result.worst < 1e-6, "\(result)")
    }

    /// The kept-derivative pair (what `MLPBlock` runs) gives the stateless pair's a and dh, bit
    /// for bit, over a matrix large enough to be split over the threads, and refuses a gradient
    /// of another shape.
    @Test func geluKeptDerivativePairMatchesTheLayer() throws {
        var rng = SeededRandom(seed: 14)
        let h: Matrix<Float> = randomMatrix(40, 1000, &rng, scale: 3)
        let da: Matrix<Float> = randomMatrix(40, 1000, &rng)
        let gelu = GELU<Float>()
        var (a, dh) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        try gelu.forward(h, into: &a)
        try gelu.backward(input: h, outputGradient: da, inputGradient: &dh)
        var (slope, keptA, keptDh) = (h, Matrix<Float>(rows: 0, cols: 0), da)
        gelu.forward(keepingDerivativeIn: &slope, into: &keptA)
        try gelu.backward(derivative: slope, gradientInPlace: &keptDh)
        #expect(keptA.storage == a.storage)
        #expect(keptDh.storage == dh.storage)
        var wrong = Matrix<Float>(rows: 40, cols: 999)
        #expect(throws: ShapeError.self) { try gelu.backward(derivative: slope, gradientInPlace: &wrong) }
    }

    @Test func layerNormMatchesReference() throws {
        var rng = SeededRandom(seed: 13)
        let norm = try LayerNorm<Float>(features: 24)
        try norm.gain.assign(randomMatrix(1, 24, &rng))
        try norm.bias.assign(randomMatrix(1, 24, &rng))
        // A large common offset: the two-pass variance must not cancel.
        let x: Matrix<Float> = randomMatrix(6, 24, &rng).map { $0 + 100 }
        let reference = BlocksReference.layerNorm(x.converted(), gain: norm.gain.value.converted(),
                                                  bias: norm.bias.value.converted(), epsilon: 1e-5)
        let error = compare(try norm(x), reference)
        #expect(error.maxAbs < 2e-4, "\(error)")
        #expect(norm.parameters.allSatisfy { !$0.weightDecay })
    }

    @Test func layerNormGradient() throws {
        var rng = SeededRandom(seed: 14)
        let norm = try LayerNorm<Double>(features: 10)
        try norm.gain.assign(randomMatrix(1, 10, &rng))
        try norm.bias.assign(randomMatrix(1, 10, &rng))
        let result = try gradientCheck(norm, input: randomMatrix(4, 10, &rng))
        #expect(result.worst < 1e-6, "\(result)")
        #expect(result.errors.count == 3)
    }

    @Test func layerNormShapeErrors() throws {
        #expect(throws: ShapeError.self) { try LayerNorm<Float>(features: 0) }
        #expect(throws: ConfigurationError.self) { try LayerNorm<Float>(features: 4, epsilon: 0) }
        let norm = try LayerNorm<Float>(features: 4)
        #expect(throws: ShapeError.self) { try norm(Matrix(rows: 2, cols: 5)) }
        _ = try norm(Matrix(rows: 2, cols: 4))
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try norm.backward(input: Matrix(rows: 3, cols: 4), outputGradient: Matrix(rows: 3, cols: 4), inputGradient: &dx)
        }
        // A skip gradient of another shape than the input is refused, naming both shapes.
        do {
            try norm.backward(input: Matrix(rows: 2, cols: 4), outputGradient: Matrix(rows: 2, cols: 4),
                              addingSkipGradient: Matrix(rows: 3, cols: 4), inputGradient: &dx)
            Issue.record("a 3×4 skip gradient for a 2×4 input was accepted")
        } catch let error as ShapeError {
            #expect("\(error)".contains("3×4") && "\(error)".contains("2×4"), "\(error)")
        }
    }

    @Test func softmaxMatchesReferenceAndIsStable() throws {
        var rng = SeededRandom(seed: 15)
        let x: Matrix<Float> = randomMatrix(5, 17, &rng, scale: 4)
        let error = compare(try Softmax<Float>()(x), BlocksReference.softmax(x.converted()))
        #expect(error.maxAbs < 1e-6, "\(error)")
        // Scores far beyond exp's range still give a proper distribution (rows of 11: both the
        // eight-lane path and the scalar tail).
        let wide: [Float] = [1000, 999, -1000, 1e30, -1e30, 0, 998, 1000, -5, 1e30, 2]
        let huge = try Softmax<Float>()(Matrix([wide, wide.map { _ in -1e30 }]))
        let shifted: [Double] = wide.map { Swift.min(Double($0), 2000) } // 1e30 → a large finite score
        let hugeReference = BlocksReference.softmax(try Matrix([shifted, Array(repeating: 0, count: 11)]))
        #expect(compare(huge, hugeReference).maxAbs < 1e-6, "\(huge)")
    }

    @Test func softmaxGradient() throws {
        var rng = SeededRandom(seed: 16)
        let result = try gradientCheck(Softmax<Double>(), input: randomMatrix(4, 7, &rng))
        #expect(result.worst < 1e-6, "\(result)")
    }

    @Test func dropoutKeepsExpectationAndIsSeeded() throws {
        var rng = SeededRandom(seed: 17)
        let x = Matrix<Float>(rows: 100, cols: 100, repeating: 2)
        let dropout = try Dropout<Float>(probability: 0.25, seed: 3)
        let y = try dropout(x)
        let kept = y.storage.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 2 / 0.75) < 1e-6 })
        // 10 000 Bernoulli(0.75) draws: the kept fraction is within 4.6 σ (σ ≈ 0.0043) of 0.75.
        #expect(abs(Double(kept.count) / 10_000 - 0.75) < 0.02, "kept \(kept.count)")
        let again = try Dropout<Float>(probability: 0.25, seed: 3)(x)
        #expect(again == y)
        #expect(try dropout(x) != y, "a second forward draws a new mask")
        dropout.isTraining = false
        let z: Matrix<Float> = randomMatrix(3, 5, &rng)
        #expect(try dropout(z) == z)
        #expect(throws: ConfigurationError.self) { try Dropout<Float>(probability: 1, seed: 1) }
        #expect(throws: ConfigurationError.self) { try Dropout<Float>(probability: -0.1, seed: 1) }
    }

    @Test func dropoutGradientWithFixedMask() throws {
        var rng = SeededRandom(seed: 18)
        let dropout = try Dropout<Double>(probability: 0.5, seed: 9)
        let x: Matrix<Double> = randomMatrix(6, 8, &rng)
        _ = try dropout(x)
        dropout.freezesMask = true
        let result = try gradientCheck(dropout, input: x)
        #expect(result.worst < 1e-6, "\(result)")
        // The backward really applies the mask: dropped entries get zero gradient.
        let y = try dropout(x)
        var dx = Matrix<Double>(rows: 0, cols: 0)
        try dropout.backward(input: x, outputGradient: Matrix(rows: 6, cols: 8, repeating: 1), inputGradient: &dx)
        #expect(zip(y.storage, dx.storage).allSatisfy { ($0 == 0) == ($1 == 0) })
        #expect(dx.storage.contains(0) && dx.storage.contains(2))
    }

    @Test func residualAddsAndChecksShapes() throws {
        var y = try Matrix<Float>([[1, 2], [3, 4]])
        try addResidual(try Matrix([[10, 20], [30, 40]]), to: &y)
        #expect(y.storage == [11, 22, 33, 44])
        #expect(throws: ShapeError.self) { try addResidual(Matrix(rows: 2, cols: 3), to: &y) }
    }
}
