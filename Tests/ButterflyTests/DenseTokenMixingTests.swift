@testable import PixelflyModels
import PixelflyCore
import Testing

/// `DenseTokenMixing` (per sequence, from the left) against `TokenMixing` with dense linears
/// (transposed layout, two independent code paths), and against finite differences.
@Suite("DenseTokenMixing")
struct DenseTokenMixingTests {
    /// Same seed → same weights; outputs, input gradients and every parameter gradient agree.
    @Test(arguments: [(16, 24, 32, 5), (4, 9, 7, 3), (16, 64, 64, 37)])
    func matchesTransposedLayoutPath(tokens: Int, channels: Int, hidden: Int, sequences: Int) throws {
        var rngA = SeededRandom(seed: 11), rngB = SeededRandom(seed: 11), data = SeededRandom(seed: 12)
        let perSequence = try DenseTokenMixing<Float>(tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t", rng: &rngA)
        let transposed = try TokenMixing<Float>(tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t",
                                                linear: LinearKind.dense.factory(), rng: &rngB)
        #expect(perSequence.parameters.map(\.name) == transposed.parameters.map(\.name))
        let x = Matrix<Float>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -2, high: 2), rng: &data)
        let dy = Matrix<Float>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -1, high: 1), rng: &data)
        var outputs = [Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0)]
        var inputGradients = outputs
        for (i, layer) in [perSequence as any Layer<Float>, transposed].enumerated() {
            // Two passes: gradients accumulate, and the second pass reuses every buffer.
            for _ in 0..<2 {
                try layer.forward(x, into: &outputs[i])
                try layer.backward(input: x, outputGradient: dy, inputGradient: &inputGradients[i])
            }
        }
        #expect(compare(outputs[0], outputs[1].converted(to: Double.self)).maxRel < 1e-5)
        #expect(compare(inputGradients[0], inputGradients[1].converted(to: Double.self)).maxRel < 1e-5)
        for (a, b) in zip(perSequence.parameters, transposed.parameters) {
            #expect(a.value.storage == b.value.storage, "\(a.name) initialised differently")
            let error = compare(a.gradient, b.gradient.converted(to: Double.self))
            #expect(error.maxRel < 1e-5, "\(a.name): \(error)")
        }
    }

    /// The four products on LIBXSMM against the same layer with every product on BLAS: outputs,
    /// input gradients and parameter gradients (Float and Double, odd sizes included).
    @Test(arguments: [(16, 768, 32, 3), (5, 13, 7, 2)])
    func libxsmmProductsMatchBLAS(tokens: Int, channels: Int, hidden: Int, sequences: Int) throws {
        try checkProductsMatchBLAS(Float.self, tokens: tokens, channels: channels, hidden: hidden, sequences: sequences, tolerance: 1e-5)
        try checkProductsMatchBLAS(Double.self, tokens: tokens, channels: channels, hidden: hidden, sequences: sequences,
                                   tolerance: 1e-12)
    }

    private func checkProductsMatchBLAS<S: TensorScalar>(_: S.Type, tokens: Int, channels: Int, hidden: Int, sequences: Int,
                                                         tolerance: Double) throws {
        var rngA = SeededRandom(seed: 21), rngB = SeededRandom(seed: 21), data = SeededRandom(seed: 22)
        let kernels = try DenseTokenMixing<S>(tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t", usesLIBXSMM: true,
                                              rng: &rngA)
        let blas = try DenseTokenMixing<S>(tokens: tokens, channels: channels, hiddenFeatures: hidden, name: "t", usesLIBXSMM: false,
                                           rng: &rngB)
        #expect(kernels.runsProductsOnLIBXSMM, "LIBXSMM generated no kernels for \(tokens)×\(channels)×\(hidden)")
        #expect(!blas.runsProductsOnLIBXSMM)
        let x = Matrix<S>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -2, high: 2), rng: &data)
        let dy = Matrix<S>(rows: sequences * tokens, cols: channels, initializer: .uniform(low: -1, high: 1), rng: &data)
        var (yA, yB, dxA, dxB) = (Matrix<S>(rows: 0, cols: 0), Matrix<S>(rows: 0, cols: 0), Matrix<S>(rows: 0, cols: 0),
                                  Matrix<S>(rows: 0, cols: 0))
        try kernels.forward(x, into: &yA)
        try kernels.backward(input: x, outputGradient: dy, inputGradient: &dxA)
        try blas.forward(x, into: &yB)
        try blas.backward(input: x, outputGradient: dy, inputGradient: &dxB)
        #expect(compare(yA, yB.converted(to: Double.self)).maxRel < tolerance)
        #expect(compare(dxA, dxB.converted(to: Double.self)).maxRel < tolerance)
        for (a, b) in zip(kernels.parameters, blas.parameters) {
            let error = compare(a.gradient, b.gradient.converted(to: Double.self))
            #expect(error.maxRel < tolerance, "\(a.name): \(error)")
        }
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        var rng = SeededRandom(seed: 3)
        let layer = try DenseTokenMixing<Double>(tokens: 8, channels: 6, hiddenFeatures: 10, name: "t", rng: &rng)
        let x = Matrix<Double>(rows: 3 * 8, cols: 6, initializer: .uniform(low: -2, high: 2), rng: &rng)
        let result = try gradientCheck(layer, input: x)
        #expect(result.worst < 1e-6, "\(result)")
    }

    /// The backward recomputes the hidden layer from its input: after a forward at another input
    /// (even another batch size), or with no forward at all, it gives the gradients at the input
    /// it is given, to the bit.
    @Test func backwardDependsOnlyOnItsInput() throws {
        var rng = SeededRandom(seed: 6), data = SeededRandom(seed: 7)
        let layer = try DenseTokenMixing<Float>(tokens: 16, channels: 768, hiddenFeatures: 32, name: "t", rng: &rng)
        let x = Matrix<Float>(rows: 3 * 16, cols: 768, initializer: .uniform(low: -2, high: 2), rng: &data)
        let other = Matrix<Float>(rows: 5 * 16, cols: 768, initializer: .uniform(low: -2, high: 2), rng: &data)
        let dy = Matrix<Float>(rows: 3 * 16, cols: 768, initializer: .uniform(low: -1, high: 1), rng: &data)
        func gradients(forwardAt input: Matrix<Float>?) throws -> [[Float]] {
            for p in layer.parameters { p.zeroGradient() }
            var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            if let input { try layer.forward(input, into: &y) }
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            return [dx.storage] + layer.parameters.map(\.gradient.storage)
        }
        let reference = try gradients(forwardAt: x)
        #expect(try gradients(forwardAt: other) == reference)
        #expect(try gradients(forwardAt: nil) == reference)
    }

    @Test func rejectsInputsThatAreNotWholeSequences() throws {
        var rng = SeededRandom(seed: 4)
        let layer = try DenseTokenMixing<Float>(tokens: 4, channels: 3, hiddenFeatures: 5, name: "t", rng: &rng)
        var y = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) { try layer.forward(Matrix<Float>(rows: 6, cols: 3), into: &y) }
        #expect(throws: ShapeError.self) { try layer.forward(Matrix<Float>(rows: 8, cols: 4), into: &y) }
        #expect(throws: ShapeError.self) {
            _ = try DenseTokenMixing<Float>(tokens: 0, channels: 3, hiddenFeatures: 5, name: "t", rng: &rng)
        }
    }

    @Test func steadyStateIsAllocationFree() throws {
        var rng = SeededRandom(seed: 5)
        let layer = try DenseTokenMixing<Float>(tokens: 16, channels: 32, hiddenFeatures: 64, name: "t", rng: &rng)
        let x = Matrix<Float>(rows: 4 * 16, cols: 32, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        try layer.forward(x, into: &y)
        try layer.backward(input: x, outputGradient: x, inputGradient: &dx)
        #expect(try countAllocations {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: x, inputGradient: &dx)
        } == 0)
    }
}
