import PixelflyTraining
import PixelflyCore
import Testing

/// A naive Double AdamW step over plain arrays, written straight from the PyTorch docs.
private func referenceAdamW(theta: inout [Double], gradient: [Double], m: inout [Double], v: inout [Double],
                            step t: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
                            weightDecay: Double, decays: Bool) {
    for i in theta.indices {
        if decays { theta[i] -= lr * weightDecay * theta[i] }
        m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
        v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
        let mHat = m[i] / (1 - pow(beta1, Double(t)))
        let vHat = v[i] / (1 - pow(beta2, Double(t)))
        theta[i] -= lr * mHat / (vHat.squareRoot() + eps)
    }
}

private func pow(_ x: Double, _ n: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(n) { result *= x }
    return result
}

@Suite("Training: optimizer, schedule, clipping")
struct TrainingOptimizerTests {
    /// Five AdamW steps on a decayed weight and an undecayed bias (Float) against the Double
    /// reference; the bias must see no decay.
    @Test func adamWMatchesReferenceStep() throws {
        var rng = SeededRandom(seed: 11)
        let weight = Parameter<Float>(name: "w", value: Matrix(rows: 3, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), weightDecay: true)
        let bias = Parameter<Float>(name: "b", value: Matrix(rows: 1, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), weightDecay: false)
        let h = AdamW<Float>.Hyperparameters(beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.3)
        let optimizer = try AdamW(parameters: [weight, bias], hyperparameters: h)
        var thetas = [weight, bias].map { $0.value.storage.map(Double.init) }
        var firstMoments = [weight, bias].map { [Double](repeating: 0, count: $0.count) }
        var secondMoments = firstMoments
        for t in 1...5 {
            let lr = 0.01 * Double(t)
            for (k, p) in [weight, bias].enumerated() {
                try p.assignGradient(Matrix(rows: p.value.rows, cols: p.value.cols, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng))
                referenceAdamW(theta: &thetas[k], gradient: p.gradient.storage.map(Double.init),
                               m: &firstMoments[k], v: &secondMoments[k], step: t, lr: lr,
                               beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.3, decays: p.weightDecay)
            }
            optimizer.update(learningRate: lr)
        }
        for (k, p) in [weight, bias].enumerated() {
            let error = compare(p.value, try Matrix(rows: p.value.rows, cols: p.value.cols, storage: thetas[k]))
            #expect(error.maxAbs < 1e-5, "\(p.name): \(error)")
        }
        #expect(optimizer.step == 5)
    }

    /// Parameters cut into several pieces (70 003 elements: three, the last not a multiple of
    /// 16) and small ones beside them — 40 parameters, so more than one parallel region —
    /// updated on two threads: the same bits as on one, and the Double reference within Float
    /// rounding. The clipping norm, summed per parameter by the threads, is the same bits too.
    @Test func adamWPiecesSplitOverTheThreads() throws {
        try TestThreadCount.set(2)
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        let sizes = [70_003, 5, 32_768, 17] + (1...36).map { 100 * $0 + $0 % 7 }
        func run() throws -> (values: [Matrix<Float>], norm: Double) {
            var rng = SeededRandom(seed: 12)
            let parameters = sizes.enumerated().map { index, count in
                Parameter<Float>(name: "p\(index)", value: Matrix(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng),
                                 weightDecay: index % 2 == 0)
            }
            let optimizer = try AdamW(parameters: parameters, hyperparameters: .init(weightDecay: 0.1))
            var norm = 0.0
            for t in 1...3 {
                for p in parameters {
                    try p.assignGradient(Matrix(rows: 1, cols: p.count, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng))
                }
                norm = clipGradientNorm(parameters, maxNorm: 100)
                optimizer.update(learningRate: 0.01 * Double(t))
            }
            return (parameters.map(\.value), norm)
        }
        let (parallel, serial) = try TestThreadCount.stable { (try run(), try ComputeThreads.serially { try run() }) }
        #expect(parallel.values == serial.values)
        #expect(parallel.norm == serial.norm, "norm \(parallel.norm) on two threads, \(serial.norm) on one")

        var rng = SeededRandom(seed: 12)
        var thetas = sizes.map { count in
            Matrix<Float>(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng).storage.map(Double.init)
        }
        var firstMoments = thetas.map { [Double](repeating: 0, count: $0.count) }
        var secondMoments = firstMoments
        for t in 1...3 {
            let gradients = thetas.map { Matrix<Float>(rows: 1, cols: $0.count, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage.map(Double.init) }
            let norm = gradients.joined().map { $0 * $0 }.reduce(0, +).squareRoot()
            let clip = norm > 100 ? 100 / (norm + 1e-6) : 1
            for k in thetas.indices {
                referenceAdamW(theta: &thetas[k], gradient: gradients[k].map { $0 * clip }, m: &firstMoments[k], v: &secondMoments[k],
                               step: t, lr: 0.01 * Double(t), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decays: k % 2 == 0)
            }
        }
        for k in thetas.indices {
            let error = compare(parallel.values[k], try Matrix(rows: 1, cols: thetas[k].count, storage: thetas[k]))
            #expect(error.maxAbs < 1e-4, "parameter \(k): \(error)")
        }
    }

    /// With a zero gradient, a decayed weight shrinks by (1 − ηλ) and a bias does not move.
    @Test func weightDecayOnlyOnDecayedParameters() throws {
        let weight = Parameter<Double>(name: "w", value: Matrix(rows: 1, cols: 2, repeating: 2), weightDecay: true)
        let norm = Parameter<Double>(name: "ln.gain", value: Matrix(rows: 1, cols: 2, repeating: 2), weightDecay: false)
        let optimizer = try AdamW(parameters: [weight, norm], hyperparameters: .init(weightDecay: 0.5))
        optimizer.update(learningRate: 0.1)
        #expect(weight.value.storage == [2 * 0.95, 2 * 0.95])
        #expect(norm.value.storage == [2, 2])
    }

    @Test func adamWRejectsBadConfigurations() throws {
        let p = Parameter<Float>(name: "p", value: Matrix(rows: 1, cols: 1), weightDecay: true)
        #expect(throws: ConfigurationError.self) { try AdamW(parameters: [p, p]) }
        #expect(throws: ConfigurationError.self) { try AdamW(parameters: [p], hyperparameters: .init(beta1: 1)) }
        let optimizer = try AdamW(parameters: [p])
        #expect(throws: ShapeError.self) { try optimizer.restore(step: 1, firstMoments: [Matrix(rows: 2, cols: 1)], secondMoments: [Matrix(rows: 1, cols: 1)]) }
    }

    @Test func warmupCosineSchedule() throws {
        let schedule = try WarmupCosineSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, minimum: 0.1)
        #expect(schedule.learningRate(at: 0) == 0.25)
        #expect(schedule.learningRate(at: 3) == 1)
        #expect(abs(schedule.learningRate(at: 9) - 0.55) < 1e-12) // halfway through the decay
        #expect(abs(schedule.learningRate(at: 14) - 0.1) < 1e-12)
        #expect(abs(schedule.learningRate(at: 100) - 0.1) < 1e-12)
        for t in 4..<14 { #expect(schedule.learningRate(at: t + 1) < schedule.learningRate(at: t)) }
        #expect(throws: ConfigurationError.self) { try WarmupCosineSchedule(peak: 1, warmupSteps: 5, totalSteps: 4) }
        #expect(throws: ConfigurationError.self) { try WarmupCosineSchedule(peak: -1, warmupSteps: 0, totalSteps: 4) }
    }

    @Test func globalNormClipping() throws {
        let a = Parameter<Double>(name: "a", value: Matrix(rows: 1, cols: 2), weightDecay: true)
        let b = Parameter<Double>(name: "b", value: Matrix(rows: 1, cols: 1), weightDecay: false)
        try a.assignGradient(try Matrix([[3, 0]]))
        try b.assignGradient(try Matrix([[4]]))
        #expect(clipGradientNorm([a, b], maxNorm: 10) == 5)
        #expect(a.gradient.storage == [3, 0]) // under the limit: untouched
        #expect(clipGradientNorm([a, b], maxNorm: 1) == 5)
        let clipped = (a.gradient.storage + b.gradient.storage).map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(clipped - 1) < 1e-6)
        #expect(abs(a.gradient[0, 0] / b.gradient[0, 0] - 0.75) < 1e-12) // direction kept
    }

    /// The norm of Float gradients spanning several 4096-element blocks, with lengths that are
    /// not multiples of the eight running sums, against a Double sum of squares.
    @Test func globalNormOfLargeFloatGradients() throws {
        var rng = SeededRandom(seed: 4)
        let parameters = [9_003, 5, 4_096, 8].map { count in
            Parameter<Float>(name: "p\(count)", value: Matrix(rows: 1, cols: count), weightDecay: true)
        }
        for p in parameters {
            try p.assignGradient(Matrix(rows: 1, cols: p.value.cols, initializer: .normal(mean: 0, standardDeviation: 2), rng: &rng))
        }
        let expected = parameters.flatMap(\.gradient.storage).map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        let norm = clipGradientNorm(parameters, maxNorm: .infinity)
        #expect(abs(norm - expected) / expected < 1e-6, "norm \(norm), Double reference \(expected)")
    }

    /// Optimizer step, clipping and schedule allocate nothing once the moments exist. (In a
    /// debug build a `for x in array` loop in unspecialised generic code allocates once per
    /// iteration, so the hot paths loop over indices.)
    @Test func optimizerStepIsAllocationFree() throws {
        var rng = SeededRandom(seed: 3)
        let parameters = (0..<4).map { Parameter<Float>(name: "p\($0)", value: Matrix(rows: 8, cols: 8, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), weightDecay: $0 % 2 == 0) }
        let optimizer = try AdamW(parameters: parameters)
        let schedule = try WarmupCosineSchedule(peak: 1e-3, warmupSteps: 2, totalSteps: 10)
        for p in parameters { p.withMutableGradientElements { $0.update(repeating: 1) } }
        optimizer.update(learningRate: 1e-3)
        let count = countAllocations {
            clipGradientNorm(parameters, maxNorm: 1)
            optimizer.update(learningRate: schedule.learningRate(at: optimizer.step))
        }
        #expect(count == 0, "\(count) allocations in an optimizer step")
    }
}
