import LowRank
import PixelflyCore
import Testing

@Suite("LowRankLinear")
struct LowRankLinearTests {
    /// y = (x·Vᵀ)·Uᵀ + b computed by the naive Double reference.
    func reference<S: TensorScalar>(_ layer: LowRankLinear<S>, _ x: Matrix<S>) throws -> Matrix<Double> {
        let hidden = try NaiveReference.gemm(x, .none, layer.v.value, .transposed)
        var y = try NaiveReference.gemm(hidden, .none, layer.u.value.converted(to: Double.self), .transposed)
        if let bias = layer.bias {
            for i in 0..<y.rows { for j in 0..<y.cols { y[i, j] += Double(bias.value[0, j]) } }
        }
        return y
    }

    /// Random shapes (including rank 1 and rank = min(in, out)), with and without bias, for all
    /// three initialisations. Tolerance: reduction length (in + rank) × unit roundoff × 8.
    func forwardMatchesReference<S: TensorScalar>(_: S.Type, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        for trial in 0..<12 {
            let (input, output) = (1 + rng.index(below: 40), 1 + rng.index(below: 40))
            let maximum = min(input, output)
            let rank = trial == 0 ? 1 : trial == 1 ? maximum : 1 + rng.index(below: maximum)
            let initialization: LowRankInitialization = [.kaimingUniform, .referenceKaimingUniform, .svd][trial % 3]
            let layer = try LowRankLinear<S>(input, output, rank: rank, bias: trial % 2 == 0,
                                             initialization: initialization, rng: &rng)
            let x = Matrix<S>(rows: 1 + rng.index(below: 20), cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let error = compare(try layer(x), try reference(layer, x))
            let tolerance = 8 * Double(input + rank) * unitRoundoff(S.self)
            #expect(error.maxRel <= tolerance, "\(S.self) \(input)→\(output) rank \(rank) \(initialization): \(error)")
        }
    }

    @Test func doubleForwardMatchesReference() throws { try forwardMatchesReference(Double.self, seed: 41) }
    @Test func floatForwardMatchesReference() throws { try forwardMatchesReference(Float.self, seed: 42) }

    @Test func denseWeightIsTheProductAndActsLikeADenseLayer() throws {
        var rng = SeededRandom(seed: 43)
        let layer = try LowRankLinear<Double>(19, 23, rank: 5, bias: true, rng: &rng)
        let weight = layer.denseWeight()
        #expect(weight.rows == 23 && weight.cols == 19)
        let x = Matrix<Double>(rows: 7, cols: 19, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var viaDense = try NaiveReference.gemm(x, .none, weight, .transposed)
        for i in 0..<viaDense.rows { for j in 0..<viaDense.cols { viaDense[i, j] += layer.bias!.value[0, j] } }
        #expect(compare(try layer(x), viaDense).maxAbs < 1e-13)
        #expect(layer.forwardFLOPsPerRow == 2 * 5 * (19 + 23))
        #expect(layer.parameterCount == 5 * 19 + 23 * 5 + 23)
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 44)
        for bias in [false, true] {
            for initialization in [LowRankInitialization.kaimingUniform, .svd] {
                let layer = try LowRankLinear<Double>(13, 9, rank: 4, bias: bias, initialization: initialization, rng: &rng)
                let x = Matrix<Double>(rows: 6, cols: 13, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
                let result = try gradientCheck(layer, input: x, samples: 40)
                #expect(result.worst < 1e-6, "bias \(bias) \(initialization): \(result)")
                #expect(result.errors.count == (bias ? 4 : 3))
            }
        }
    }

    /// Gradients accumulate across backward calls (the Layer contract); dx is overwritten.
    @Test func backwardAccumulatesParameterGradients() throws {
        var rng = SeededRandom(seed: 45)
        let layer = try LowRankLinear<Double>(8, 6, rank: 3, bias: true, rng: &rng)
        let x = Matrix<Double>(rows: 5, cols: 8, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let dy = Matrix<Double>(rows: 5, cols: 6, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var y = Matrix<Double>(rows: 0, cols: 0)
        var dx = Matrix<Double>(rows: 0, cols: 0)
        layer.zeroGradients()
        try layer.forward(x, into: &y)
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        let once = layer.parameters.map(\.gradient)
        let dxOnce = dx
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        for (parameter, first) in zip(layer.parameters, once) {
            #expect(try parameter.gradient.maxAbsDifference(first.map { 2 * $0 }) < 1e-13, "\(parameter.name)")
        }
        #expect(try dx.maxAbsDifference(dxOnce) == 0)
    }

    @Test func invalidShapesThrowNamingTheValidRange() throws {
        var rng = SeededRandom(seed: 46)
        for rank in [0, -1, 9, 100] {
            do {
                _ = try LowRankLinear<Float>(8, 12, rank: rank, rng: &rng)
                Issue.record("rank \(rank) for 8→12 did not throw")
            } catch let error as ShapeError {
                #expect(error.message.contains("1...8"), "\(error)")
            }
        }
        #expect(throws: ShapeError.self) { try LowRankLinear<Float>(0, 4, rank: 1, rng: &rng) }
        #expect(throws: ShapeError.self) { try LowRankLinear<Float>(u: Matrix(rows: 4, cols: 2), v: Matrix(rows: 3, cols: 5)) }
        #expect(throws: ShapeError.self) {
            try LowRankLinear<Float>(u: Matrix(rows: 4, cols: 2), v: Matrix(rows: 2, cols: 5), bias: Matrix(rows: 1, cols: 5))
        }
        let layer = try LowRankLinear<Float>(8, 4, rank: 2, rng: &rng)
        #expect(throws: ShapeError.self) { try layer(Matrix<Float>(rows: 2, cols: 7)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 8), outputGradient: Matrix(rows: 3, cols: 4), inputGradient: &dx)
        }
        // A backward whose batch does not match the last forward has no hidden to use.
        _ = try layer(Matrix<Float>(rows: 3, cols: 8))
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 8), outputGradient: Matrix(rows: 2, cols: 4), inputGradient: &dx)
        }
    }

    /// An orthonormal basis of the columns of `a` (m×k, m ≥ k, full column rank) by modified
    /// Gram–Schmidt in plain loops — independent of LAPACK.
    static func orthonormalColumns(_ a: Matrix<Double>) -> Matrix<Double> {
        var q = a
        for j in 0..<q.cols {
            for previous in 0..<j {
                let dot = (0..<q.rows).reduce(0.0) { $0 + q[$1, previous] * q[$1, j] }
                for i in 0..<q.rows { q[i, j] -= dot * q[i, previous] }
            }
            let norm = (0..<q.rows).reduce(0.0) { $0 + q[$1, j] * q[$1, j] }.squareRoot()
            for i in 0..<q.rows { q[i, j] /= norm }
        }
        return q
    }

    /// W = Q₁·diag(σ)·Q₂ᵀ with Gram–Schmidt orthonormal Q₁ (12×12), Q₂ (20×12) and chosen
    /// distinct σ, so its best rank-5 approximation is known without an SVD (Eckart–Young):
    /// Σ_{k<5} σ_k q₁ₖ q₂ₖᵀ, leaving a Frobenius error of √(Σ_{k≥5} σ_k²).
    @Test func approximatingADenseWeightKeepsItsBestRankPart() throws {
        var rng = SeededRandom(seed: 47)
        let (outputs, inputs, rank) = (12, 20, 5)
        let sigma: [Double] = [9, 7, 5.5, 4, 3, 2, 1.5, 1, 0.75, 0.5, 0.25, 0.125]
        let q1 = Self.orthonormalColumns(Matrix(rows: outputs, cols: outputs, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng))
        let q2 = Self.orthonormalColumns(Matrix(rows: inputs, cols: outputs, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng))
        func sum(of ks: Range<Int>) -> Matrix<Double> {
            var w = Matrix<Double>(rows: outputs, cols: inputs)
            for k in ks { for i in 0..<outputs { for j in 0..<inputs { w[i, j] += sigma[k] * q1[i, k] * q2[j, k] } } }
            return w
        }
        let weight = sum(of: 0..<outputs)
        let expected = sum(of: 0..<rank)
        let bias = Matrix<Double>(rows: 1, cols: outputs, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)

        let layer = try LowRankLinear<Double>(approximating: weight, bias: bias, rank: rank)
        #expect(layer.rank == rank && layer.inputFeatures == inputs && layer.outputFeatures == outputs)
        let deviation = try layer.denseWeight().maxAbsDifference(expected)
        #expect(deviation < 1e-12, "U·V differs from Σ_{k<5} σ_k q₁ₖ q₂ₖᵀ by \(deviation)")
        let residual = try weight.maxAbsDifference(layer.denseWeight())
        let residualFrobenius = zip(weight.storage, layer.denseWeight().storage).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let eckartYoung = sigma[rank...].reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(residualFrobenius - eckartYoung) < 1e-12, "‖W − UV‖_F = \(residualFrobenius), Eckart–Young \(eckartYoung)")
        #expect(residual > 0.1, "the discarded σ₅ = 2 part must remain: max |W − UV| = \(residual)")
        #expect(layer.bias!.value == bias)
        // The layer computes x·(UV)ᵀ + b: compare with the constructed rank-5 matrix directly.
        let x = Matrix<Double>(rows: 3, cols: inputs, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var reference = try NaiveReference.gemm(x, .none, expected, .transposed)
        for i in 0..<3 { for j in 0..<outputs { reference[i, j] += bias[0, j] } }
        let output = compare(try layer(x), reference)
        #expect(output.maxAbs < 1e-12, "\(output)")
    }
}
