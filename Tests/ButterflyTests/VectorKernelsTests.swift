import PixelflyModels
import PixelflyCore
import Testing

/// The Float GELU and LayerNorm run in C (`CVectorKernels`: an AVX2+FMA body for rows whose
/// length is a multiple of 8, a portable body otherwise) and over `ComputeThreads`; the Double
/// ones run the generic Swift loops that `BlocksTests` checks by finite differences. Here the
/// Float forward and backward are compared with the Double ones on the same inputs, at sizes
/// that take both C bodies and the split over threads.
@Suite("CVectorKernels against the Double paths")
struct VectorKernelsTests {
    /// (rows, features): 24 and 64 take the eight-lane body, 13 the portable one; the large
    /// cases are split over threads (and, for LayerNorm backward, summed from per-range slots).
    static let shapes = [(5, 24), (7, 13), (1500, 24), (600, 64), (3000, 13)]

    @Test(arguments: shapes)
    func geluForwardAndBackward(rows: Int, features: Int) throws {
        var rng = SeededRandom(seed: UInt64(rows + features))
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng)
        let dy = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let (single, double) = (GELU<Float>(), GELU<Double>())
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        var (yRef, dxRef) = (Matrix<Double>(rows: 0, cols: 0), Matrix<Double>(rows: 0, cols: 0))
        try single.forward(x, into: &y)
        try single.backward(input: x, outputGradient: dy, inputGradient: &dx)
        // One converted input for both passes: a cached-activation layer checks that its backward
        // gets the very input of its forward (see ForwardInputRecord), not an equal copy.
        let xDouble: Matrix<Double> = x.converted()
        try double.forward(xDouble, into: &yRef)
        try double.backward(input: xDouble, outputGradient: dy.converted(), inputGradient: &dxRef)
        let forward = compare(y, yRef), backward = compare(dx, dxRef)
        #expect(forward.maxRel < 1e-5, "forward: \(forward)")
        #expect(backward.maxRel < 1e-5, "backward: \(backward)")
    }

    @Test(arguments: shapes)
    func layerNormForwardAndBackward(rows: Int, features: Int) throws {
        var rng = SeededRandom(seed: UInt64(3 * rows + features))
        let single = try LayerNorm<Float>(features: features), double = try LayerNorm<Double>(features: features)
        try single.gain.assign(Matrix(rows: 1, cols: features, initializer: .normal(mean: 1, standardDeviation: 0.5), rng: &rng))
        try single.bias.assign(Matrix(rows: 1, cols: features, initializer: .normal(mean: 0, standardDeviation: 0.5), rng: &rng))
        try double.gain.assign(single.gain.value.converted())
        try double.bias.assign(single.bias.value.converted())
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 2, standardDeviation: 1.5), rng: &rng)
        let dy = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        var (yRef, dxRef) = (Matrix<Double>(rows: 0, cols: 0), Matrix<Double>(rows: 0, cols: 0))
        try single.forward(x, into: &y)
        try single.backward(input: x, outputGradient: dy, inputGradient: &dx)
        // One converted input for both passes: a cached-activation layer checks that its backward
        // gets the very input of its forward (see ForwardInputRecord), not an equal copy.
        let xDouble: Matrix<Double> = x.converted()
        try double.forward(xDouble, into: &yRef)
        try double.backward(input: xDouble, outputGradient: dy.converted(), inputGradient: &dxRef)
        #expect(compare(y, yRef).maxAbs < 1e-4, "forward: \(compare(y, yRef))")
        #expect(compare(dx, dxRef).maxAbs < 1e-4, "input gradient: \(compare(dx, dxRef))")
        // Parameter gradients sum over all rows: compare relative to their size.
        for (a, b) in zip(single.parameters, double.parameters) {
            let error = compare(a.gradient, b.gradient)
            #expect(error.maxRel < 1e-4, "\(a.name): \(error)")
        }
    }
}
