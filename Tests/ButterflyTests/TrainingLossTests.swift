import PixelflyTraining
import PixelflyCore
import RealModule
import Testing

@Suite("Training: cross-entropy")
struct TrainingLossTests {
    /// Loss against a direct Double formula: −Σ q log softmax(z), q smoothed.
    @Test(arguments: [0.0, 0.1]) func lossMatchesDirectFormula(smoothing: Double) throws {
        var rng = SeededRandom(seed: 21)
        let logits = Matrix<Float>(rows: 5, cols: 7, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng)
        let labels = [0, 6, 3, 3, 1]
        let loss = try SoftmaxCrossEntropy(labelSmoothing: smoothing)
        var gradient = Matrix<Float>(rows: 0, cols: 0)
        let value = try loss.lossAndGradient(logits: logits, labels: labels, gradient: &gradient)
        var expected = 0.0
        for i in 0..<5 {
            let z = logits.row(i).map(Double.init)
            let logSum = Double.log(z.map { Double.exp($0) }.reduce(0, +))
            for j in 0..<7 {
                let q = (j == labels[i] ? 1 - smoothing : 0) + smoothing / 7
                expected -= q * (z[j] - logSum)
            }
        }
        expected /= 5
        #expect(abs(value - expected) < 1e-5, "loss \(value) vs \(expected)")
    }

    /// ∂L/∂logits against central differences of the loss, in Double.
    @Test(arguments: [0.0, 0.2]) func gradientMatchesFiniteDifferences(smoothing: Double) throws {
        var rng = SeededRandom(seed: 22)
        var logits = Matrix<Double>(rows: 4, cols: 6, initializer: .normal(mean: 0, standardDeviation: 2), rng: &rng)
        let labels = [5, 0, 2, 2]
        let loss = try SoftmaxCrossEntropy(labelSmoothing: smoothing)
        var gradient = Matrix<Double>(rows: 0, cols: 0)
        var scratch = Matrix<Double>(rows: 0, cols: 0)
        _ = try loss.lossAndGradient(logits: logits, labels: labels, gradient: &gradient)
        var worst = 0.0
        let h = 1e-5
        for i in 0..<4 {
            for j in 0..<6 {
                let saved = logits[i, j]
                logits[i, j] = saved + h
                let plus = try loss.loss(logits: logits, labels: labels, scratch: &scratch)
                logits[i, j] = saved - h
                let minus = try loss.loss(logits: logits, labels: labels, scratch: &scratch)
                logits[i, j] = saved
                worst = max(worst, abs((plus - minus) / (2 * h) - gradient[i, j]))
            }
        }
        #expect(worst < 1e-8, "max abs gradient error \(worst)")
    }

    /// A language model's logits (512 rows × 256 classes) are split over two threads, and the
    /// row losses summed in row order: the loss is the same bits as each row's loss (a one-row
    /// call) summed in order, whatever the thread count, and the gradient the same bits as on
    /// one thread. In Double: Float row losses carry 24 significant bits and their Double sum
    /// is exact in any order, so only Double tells the row-order sum from a partial sum per
    /// thread (that version fails here).
    @Test func rowsSplitOverTheThreads() throws {
        try TestThreadCount.set(2)
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        var rng = SeededRandom(seed: 23)
        let logits = Matrix<Double>(rows: 512, cols: 256, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng)
        let labels = (0..<512).map { ($0 * 37) % 256 }
        let loss = try SoftmaxCrossEntropy(labelSmoothing: 0.1)
        func run() throws -> (Double, Matrix<Double>) {
            var gradient = Matrix<Double>()
            return (try loss.lossAndGradient(logits: logits, labels: labels, gradient: &gradient), gradient)
        }
        let (parallel, serial) = try TestThreadCount.stable { (try run(), try ComputeThreads.serially { try run() }) }
        #expect(parallel.1 == serial.1)
        var rowOrderSum = 0.0, expected = 0.0
        var scratch = Matrix<Double>()
        for i in 0..<512 {
            rowOrderSum += try loss.loss(logits: Matrix([logits.row(i)]), labels: [labels[i]], scratch: &scratch)
            let z = logits.row(i)
            let logSum = Double.log(z.map { Double.exp($0) }.reduce(0, +))
            for j in 0..<256 { expected -= ((j == labels[i] ? 0.9 : 0) + 0.1 / 256) * (z[j] - logSum) }
        }
        #expect(parallel.0 == rowOrderSum / 512, "loss \(parallel.0) on two threads, \(rowOrderSum / 512) summed row by row")
        #expect(abs(parallel.0 - expected / 512) < 1e-12, "loss \(parallel.0) vs \(expected / 512)")
    }

    /// Huge logits stay finite thanks to the max shift.
    @Test func largeLogitsStayFinite() throws {
        let logits = try Matrix<Float>([[1e4, -1e4, 0], [3e4, 3e4, 3e4]])
        var gradient = Matrix<Float>(rows: 0, cols: 0)
        let value = try SoftmaxCrossEntropy().lossAndGradient(logits: logits, labels: [0, 2], gradient: &gradient)
        #expect(value.isFinite)
        #expect(abs(value - Double.log(3) / 2) < 1e-4)
        #expect(gradient.storage.allSatisfy { $0.isFinite })
    }

    @Test func badLabelsThrow() throws {
        let logits = Matrix<Float>(rows: 2, cols: 3)
        var gradient = Matrix<Float>(rows: 0, cols: 0)
        let loss = try SoftmaxCrossEntropy()
        #expect(throws: ShapeError.self) { try loss.lossAndGradient(logits: logits, labels: [0], gradient: &gradient) }
        #expect(throws: ShapeError.self) { try loss.lossAndGradient(logits: logits, labels: [0, 3], gradient: &gradient) }
        #expect(throws: ShapeError.self) { try loss.lossAndGradient(logits: logits, labels: [-1, 0], gradient: &gradient) }
        #expect(throws: ConfigurationError.self) { try SoftmaxCrossEntropy(labelSmoothing: 1) }
    }

    @Test func accuracyCount() throws {
        let logits = try Matrix<Float>([[0, 2, 1], [5, 1, 1], [0, 0, 3]])
        #expect(try correctPredictions(logits: logits, labels: [1, 0, 0]) == 2)
    }
}
