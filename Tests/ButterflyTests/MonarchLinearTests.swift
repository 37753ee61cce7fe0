import Butterfly
import PixelflyCore
import Testing

/// `MonarchLinear` against a materialised Double reference built from the stage definitions
/// (not from the library's `denseMatrix`), and against finite differences.
@Suite("MonarchLinear")
struct MonarchLinearTests {
    /// (in, out) pairs: square, rectangular both ways, and sizes that are not multiples of the
    /// block count (padding).
    static let shapes = [(64, 64), (32, 96), (96, 32), (50, 70), (70, 50), (17, 40)]

    /// M (out, in) by pushing every unit vector through the two stages as method doc section 4
    /// states them: x padded to k·p; h[κ·q + t] = Σ_π R[κ,t,π]·x[κ·p + π]; the flat h re-read
    /// as ρ·l + λ; y[σ·l + λ] = Σ_ρ L[λ,σ,ρ]·h[ρ·l + λ]; y truncated to out.
    static func reference(_ shape: MonarchShape, first: Matrix<Double>, second: Matrix<Double>) -> Matrix<Double> {
        let (k, p, q, s) = (shape.nblocks, shape.p, shape.q, shape.s)
        var m = Matrix<Double>(rows: shape.outputFeatures, cols: shape.inputFeatures)
        for i in 0..<shape.inputFeatures {
            var x = [Double](repeating: 0, count: k * p)
            x[i] = 1
            var h = [Double](repeating: 0, count: k * q)
            for κ in 0..<k { for t in 0..<q { for π in 0..<p { h[κ * q + t] += first[κ, t * p + π] * x[κ * p + π] } } }
            var y = [Double](repeating: 0, count: k * s)
            for λ in 0..<k { for σ in 0..<s { for ρ in 0..<q { y[σ * k + λ] += second[λ, σ * q + ρ] * h[ρ * k + λ] } } }
            for o in 0..<shape.outputFeatures { m[o, i] = y[o] }
        }
        return m
    }

    static func cases() -> [(Int, Int, Int)] {
        shapes.flatMap { (i, o) in [2, 4, 8, 16].filter { $0 <= min(i, o) }.map { (i, o, $0) } }
    }

    @Test func forwardAndBackwardMatchDenseReference() throws {
        var rng = SeededRandom(seed: 12)
        for (index, (inputs, outputs, nblocks)) in Self.cases().enumerated() {
            let hasBias = index % 3 != 2
            let layer = try MonarchLinear<Float>(inputs, outputs, nblocks: nblocks, bias: hasBias, rng: &rng)
            let m = Self.reference(layer.shape, first: layer.blkdiag1.value.converted(), second: layer.blkdiag2.value.converted())
            let label = "\(layer.shape), bias \(hasBias)"
            #expect(compare(layer.denseWeight(), m).maxAbs < 1e-5, "denseWeight \(label)")
            let batch = 1 + rng.index(below: 40)
            let x = Matrix<Float>(rows: batch, cols: inputs, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let dy = Matrix<Float>(rows: batch, cols: outputs, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let tolerance = 1e-5 * Double(inputs + outputs + batch)

            var y = Matrix<Float>(rows: 3, cols: 3, repeating: 7)
            try layer.forward(x, into: &y)
            var expectedY = try NaiveReference.gemm(x.converted(to: Double.self), .none, m, .transposed)
            if let bias = layer.bias {
                for b in 0..<batch { for o in 0..<outputs { expectedY[b, o] += Double(bias.value[0, o]) } }
            }
            #expect(compare(y, expectedY).maxAbs < tolerance, "forward \(label): \(compare(y, expectedY))")

            layer.zeroGradients()
            var dx = Matrix<Float>(rows: 2, cols: 2, repeating: 5)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            let expectedDx = try NaiveReference.gemm(dy.converted(to: Double.self), .none, m, .none)
            #expect(compare(dx, expectedDx).maxAbs < tolerance, "dx \(label): \(compare(dx, expectedDx))")
            if let bias = layer.bias {
                var sums = Matrix<Double>(rows: 1, cols: outputs)
                for b in 0..<batch { for o in 0..<outputs { sums[0, o] += Double(dy[b, o]) } }
                #expect(compare(bias.gradient, sums).maxAbs < tolerance, "bias gradient \(label)")
            }
        }
    }

    /// dR and dL: the directional derivative of L = Σ dy ⊙ (x·Mᵀ) along each factor's gradient
    /// must match the reference M's, checked by finite differences in Double (all parameters).
    @Test func backwardMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 13)
        for (index, (inputs, outputs, nblocks)) in Self.cases().enumerated() {
            let layer = try MonarchLinear<Double>(inputs, outputs, nblocks: nblocks, bias: index % 2 == 0, rng: &rng)
            let x = Matrix<Double>(rows: 5, cols: inputs, initializer: .uniform(low: -1, high: 1), rng: &rng)
            let result = try gradientCheck(layer, input: x, samples: 30)
            #expect(result.worst < 1e-6, "\(layer.shape): \(result)")
        }
    }

    /// Same output variance as a dense Kaiming-uniform layer (1/3 of E[x²] per output).
    @Test func initialisationMatchesDenseOutputVariance() throws {
        var rng = SeededRandom(seed: 14)
        let layer = try MonarchLinear<Double>(256, 512, nblocks: 4, bias: false, rng: &rng)
        let x = Matrix<Double>(rows: 256, cols: 256, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let y = try layer(x)
        let variance = y.storage.reduce(0) { $0 + $1 * $1 } / Double(y.count)
        #expect(abs(variance - 1.0 / 3) < 0.05, "output variance \(variance), dense gives 1/3")
    }

    @Test(arguments: [2, 4, 8, 16])
    func steadyStateIsAllocationFree(nblocks: Int) throws {
        var rng = SeededRandom(seed: 15)
        let layer = try MonarchLinear<Float>(50, 96, nblocks: nblocks, rng: &rng)
        let count = try steadyStateStepAllocations(layer, rng: &rng)
        #expect(count == 0, "\(count) allocations in a steady-state Monarch step, \(nblocks) blocks")
    }

    @Test func badShapesThrow() throws {
        var rng = SeededRandom(seed: 16)
        #expect(throws: ShapeError.self) { try MonarchLinear<Float>(8, 8, nblocks: 0, rng: &rng) }
        #expect(throws: ShapeError.self) { try MonarchLinear<Float>(8, 4, nblocks: 5, rng: &rng) }
        #expect(throws: ShapeError.self) { try MonarchLinear<Float>(0, 4, nblocks: 1, rng: &rng) }
        let layer = try MonarchLinear<Float>(8, 4, nblocks: 2, rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) { try layer.forward(Matrix(rows: 2, cols: 7), into: &y) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 3, cols: 8), outputGradient: Matrix(rows: 3, cols: 4), inputGradient: &dx)
        }
        try layer.forward(Matrix(rows: 2, cols: 8), into: &y)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 8), outputGradient: Matrix(rows: 2, cols: 5), inputGradient: &dx)
        }
    }
}
