import Butterfly
import LowRank
import PixelflyData
import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// Public entry points that take user-controlled values, each called with a bad value: every
/// row must throw the named error type it lists (a trap would end the test process, so reaching
/// the end shows none traps). README "Conventions" states the contract this table checks.
@Suite("Bad inputs throw named errors")
struct BadInputTableTests {
    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let expected: any Error.Type
        let call: @Sendable () throws -> Void
        init(_ description: String, _ expected: any Error.Type, _ call: @escaping @Sendable () throws -> Void) {
            self.description = description
            self.expected = expected
            self.call = call
        }
    }

    static let mask = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 8)

    static let cases: [Case] = [
        // Matrix sizes and shapes.
        Case("Matrix(validatingRows:) negative", ShapeError.self) { _ = try Matrix<Float>(validatingRows: -1, cols: 3) },
        Case("Matrix(validatingRows:) overflow", ShapeError.self) { _ = try Matrix<Float>(validatingRows: Int.max, cols: 2) },
        Case("Matrix(rows:cols:storage:) negative", ShapeError.self) { _ = try Matrix<Float>(rows: -2, cols: -3, storage: [0, 0, 0, 0, 0, 0]) },
        Case("Matrix(rows:cols:storage:) overflow", ShapeError.self) { _ = try Matrix<Float>(rows: Int.max / 2, cols: 4, storage: []) },
        Case("Matrix(rows:cols:storage:) count", ShapeError.self) { _ = try Matrix<Float>(rows: 2, cols: 2, storage: [1]) },
        Case("Matrix(nested) ragged", ShapeError.self) { _ = try Matrix<Float>([[1, 2], [3]]) },
        Case("Matrix.reshape(validatingRows:) negative", ShapeError.self) { var m = Matrix<Float>(rows: 1, cols: 1); try m.reshape(validatingRows: 2, cols: -1) },
        Case("Matrix(validatingRows:) negative cols", ShapeError.self) { _ = try Matrix<Float>(validatingRows: 3, cols: -1) },
        Case("Matrix(validatingRows:repeating:) negative", ShapeError.self) { _ = try Matrix<Double>(validatingRows: -4, cols: -4, repeating: 1) },
        Case("Matrix(validatingRows:) bytes overflow", ShapeError.self) { _ = try Matrix<Float>(validatingRows: Int.max / 2, cols: 1) },
        Case("Matrix(validatingRows:) Int.min", ShapeError.self) { _ = try Matrix<Float>(validatingRows: Int.min, cols: Int.min) },
        Case("Matrix(validatingRows:initializer:) negative", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try Matrix<Float>(validatingRows: -1, cols: 4, initializer: .linearDefault, rng: &rng)
        },
        Case("Matrix(validatingRows:initializer:) overflow", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try Matrix<Double>(validatingRows: 1 << 40, cols: 1 << 40, initializer: .zeros, rng: &rng)
        },
        Case("Matrix.reshape(validatingRows:) negative rows", ShapeError.self) { var m = Matrix<Float>(); try m.reshape(validatingRows: -3, cols: 0) },
        Case("Matrix.reshape(validatingRows:) overflow", ShapeError.self) { var m = Matrix<Double>(); try m.reshape(validatingRows: Int.max, cols: Int.max) },
        Case("SeededRandom.index(validatingBelow:) zero", ShapeError.self) { var rng = SeededRandom(seed: 1); _ = try rng.index(validatingBelow: 0) },
        Case("SeededRandom.index(validatingBelow:) negative", ShapeError.self) { var rng = SeededRandom(seed: 1); _ = try rng.index(validatingBelow: -7) },
        Case("SeededRandom.permutation negative", ShapeError.self) { var rng = SeededRandom(seed: 1); _ = try rng.permutation(-1) },
        Case("Matrix.maxAbsDifference shapes", ShapeError.self) { _ = try Matrix<Float>(rows: 1, cols: 2).maxAbsDifference(Matrix(rows: 2, cols: 1)) },
        Case("gemm inner dimensions", ShapeError.self) { var c = Matrix<Float>(rows: 0, cols: 0); try gemm(Matrix<Float>(rows: 2, cols: 3), .none, Matrix<Float>(rows: 2, cols: 3), into: &c) },
        Case("gemm accumulate into wrong shape", ShapeError.self) { var c = Matrix<Float>(rows: 1, cols: 1); try gemm(Matrix<Float>(rows: 2, cols: 3), .none, Matrix<Float>(rows: 3, cols: 2), beta: 1, into: &c) },
        Case("broadcastRows length", ShapeError.self) { var y = Matrix<Float>(rows: 4, cols: 3); try broadcastRows(Matrix(rows: 1, cols: 2), into: &y) },
        Case("addColumnSums length", ShapeError.self) { var s = Matrix<Float>(rows: 1, cols: 5); try addColumnSums(of: Matrix(rows: 4, cols: 3), into: &s) },
        // Parameters.
        Case("Parameter.assign shape", ShapeError.self) { try Parameter(name: "w", value: Matrix<Float>(rows: 2, cols: 2), weightDecay: true).assign(Matrix(rows: 4, cols: 1)) },
        Case("Parameter.assignGradient shape", ShapeError.self) { try Parameter(name: "w", value: Matrix<Float>(rows: 2, cols: 2), weightDecay: true).assignGradient(Matrix(rows: 1, cols: 4)) },
        Case("Parameter.updateValue reshape", ShapeError.self) { try Parameter(name: "w", value: Matrix<Float>(rows: 2, cols: 2), weightDecay: true).updateValue { $0.reshape(rows: 9, cols: 9) } },
        // Layer constructors and passes.
        Case("DenseLinear features", ShapeError.self) { _ = try DenseLinear<Float>(0, 4) },
        Case("DenseLinear forward features", ShapeError.self) { _ = try DenseLinear<Float>(3, 4)(Matrix(rows: 2, cols: 5)) },
        Case("DenseLinear backward output gradient", ShapeError.self) {
            var dx = Matrix<Float>(rows: 0, cols: 0)
            try DenseLinear<Float>(3, 4).backward(input: Matrix(rows: 2, cols: 3), outputGradient: Matrix(rows: 2, cols: 3), inputGradient: &dx)
        },
        Case("LowRankLinear rank", ShapeError.self) { _ = try LowRankLinear<Float>(4, 4, rank: 5) },
        Case("LowRankLinear negative features", ShapeError.self) { _ = try LowRankLinear<Float>(-4, 4, rank: 1) },
        Case("LowRankLinear backward on another input", LayerReuseError.self) {
            let layer = try LowRankLinear<Float>(4, 4, rank: 2)
            // Both inputs alive at once (as in weight sharing): distinct buffers.
            let first = Matrix<Float>(rows: 2, cols: 4), second = Matrix<Float>(rows: 2, cols: 4, repeating: 1)
            var y = Matrix<Float>(rows: 0, cols: 0)
            try layer.forward(first, into: &y)
            try layer.backward(input: second, outputGradient: Matrix(rows: 2, cols: 4), inputGradient: &y)
        },
        Case("PixelflyLinear rank", ShapeError.self) { _ = try PixelflyLinear<Float>(32, 32, mask: mask, rank: 0) },
        Case("PixelflyLinear forward features", ShapeError.self) { _ = try PixelflyLinear<Float>(32, 32, mask: mask, rank: 2)(Matrix(rows: 1, cols: 31)) },
        Case("BlockSparseLinear variance share", ConfigurationError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try BlockSparseLinear<Float>(mask: FlatButterflyMask(outputFeatures: 32, inputFeatures: 32, configuration: mask), outputVarianceShare: 0, rng: &rng)
        },
        Case("MonarchLinear nblocks", ShapeError.self) { var rng = SeededRandom(seed: 1); _ = try MonarchLinear<Float>(8, 8, nblocks: 0, rng: &rng) },
        Case("ButterflyLinear features", ShapeError.self) { _ = try ButterflyLinear<Float>(0, 8) },
        Case("ButterflyLayout not a power of two", ButterflyError.self) { _ = try ButterflyLayout(n: 12, field: .real) },
        Case("LayerNorm features", ShapeError.self) { _ = try LayerNorm<Float>(features: 0) },
        Case("LayerNorm epsilon", ConfigurationError.self) { _ = try LayerNorm<Float>(features: 4, epsilon: -1) },
        Case("Dropout probability", ConfigurationError.self) { _ = try Dropout<Float>(probability: 1.5, seed: 1) },
        Case("MLPBlock hidden features", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try MLPBlock<Float>(features: 4, hiddenFeatures: -1, linear: LinearFactories.dense(), rng: &rng)
        },
        // Models.
        Case("GPT token outside the vocabulary", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try GPT<Float>(.tiny, rng: &rng)(Matrix(rows: 1, cols: 16, repeating: 256))
        },
        Case("GPT sequence longer than the context", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try GPT<Float>(.tiny, rng: &rng)(Matrix(rows: 1, cols: 17))
        },
        Case("MLPMixer image size", ShapeError.self) {
            var rng = SeededRandom(seed: 1)
            _ = try MLPMixer<Float>(.tiny, rng: &rng)(Matrix(rows: 1, cols: 783))
        },
        // Training.
        Case("SoftmaxCrossEntropy smoothing", ConfigurationError.self) { _ = try SoftmaxCrossEntropy(labelSmoothing: -0.5) },
        Case("SoftmaxCrossEntropy label count", ShapeError.self) {
            var g = Matrix<Float>(rows: 0, cols: 0)
            _ = try SoftmaxCrossEntropy().lossAndGradient(logits: Matrix<Float>(rows: 3, cols: 4), labels: [0, 1], gradient: &g)
        },
        Case("SoftmaxCrossEntropy zero classes", ShapeError.self) {
            var g = Matrix<Float>(rows: 0, cols: 0)
            _ = try SoftmaxCrossEntropy().lossAndGradient(logits: Matrix<Float>(rows: 2, cols: 0), labels: [0, 0], gradient: &g)
        },
        Case("SoftmaxCrossEntropy label range", ShapeError.self) {
            var g = Matrix<Float>(rows: 0, cols: 0)
            _ = try SoftmaxCrossEntropy().lossAndGradient(logits: Matrix<Float>(rows: 1, cols: 4), labels: [4], gradient: &g)
        },
        Case("correctPredictions label count", ShapeError.self) { _ = try correctPredictions(logits: Matrix<Float>(rows: 3, cols: 2), labels: [1]) },
        Case("correctPredictions zero classes", ShapeError.self) { _ = try correctPredictions(logits: Matrix<Float>(rows: 2, cols: 0), labels: [0, 0]) },
        Case("AdamW beta", ConfigurationError.self) { _ = try AdamW<Float>(parameters: [], hyperparameters: .init(beta1: 1)) },
        Case("AdamW duplicate names", ConfigurationError.self) {
            let p = Parameter(name: "w", value: Matrix<Float>(rows: 1, cols: 1), weightDecay: true)
            _ = try AdamW(parameters: [p, p])
        },
        Case("AdamW.restore moment shape", ShapeError.self) {
            let adam = try AdamW(parameters: [Parameter(name: "w", value: Matrix<Float>(rows: 2, cols: 2), weightDecay: true)])
            try adam.restore(step: 1, firstMoments: [Matrix(rows: 1, cols: 1)], secondMoments: [Matrix(rows: 1, cols: 1)])
        },
        Case("WarmupCosineSchedule peak", ConfigurationError.self) { _ = try WarmupCosineSchedule(peak: 0, warmupSteps: 0, totalSteps: 1) },
        Case("ModelConfiguration name", ConfigurationError.self) { _ = try ModelConfiguration.preset("no-such-model") },
        Case("ModelConfiguration heads not dividing the width", ShapeError.self) {
            var c = try ModelConfiguration.preset("gpt")
            try c.override(width: 128, depth: nil, patchSize: nil, heads: 3)
        },
        Case("ModelConfiguration heads on the Mixer", ShapeError.self) {
            var c = try ModelConfiguration.preset("mixer")
            try c.override(width: nil, depth: nil, patchSize: nil, heads: 4)
        },
        Case("ModelConfiguration zero heads", ShapeError.self) {
            var c = try ModelConfiguration.preset("vit")
            try c.override(width: nil, depth: nil, patchSize: nil, heads: 0)
        },
        // Checkpoints and threads.
        Case("Checkpoint tensor shape", CheckpointMismatchError.self) {
            let checkpoint = Checkpoint(tensors: [try CheckpointTensor(name: "w", matrix: Matrix<Float>(rows: 2, cols: 3))])
            try checkpoint.restore([Parameter(name: "w", value: Matrix<Float>(rows: 3, cols: 2), weightDecay: true)])
        },
        Case("Checkpoint tensor missing", CheckpointMismatchError.self) {
            try Checkpoint().restore([Parameter(name: "w", value: Matrix<Float>(rows: 1, cols: 1), weightDecay: true)])
        },
        Case("Checkpoint tensor dtype", CheckpointMismatchError.self) {
            let checkpoint = Checkpoint(tensors: [try CheckpointTensor(name: "w", matrix: Matrix<Double>(rows: 1, cols: 1))])
            try checkpoint.restore([Parameter(name: "w", value: Matrix<Float>(rows: 1, cols: 1), weightDecay: true)])
        },
        Case("Checkpoint.parse garbage", FileError.self) { _ = try Checkpoint.parse([1, 2, 3], path: "garbage") },
        Case("ComputeThreads.setCount zero", ConfigurationError.self) { try ComputeThreads.setCount(0) },
        Case("StudentT.quantile probability", ConfigurationError.self) { _ = try StudentT.quantile(1.5, degreesOfFreedom: 3) },
    ]

    @Test(arguments: cases)
    func throwsItsNamedError(_ row: Case) {
        do {
            try row.call()
            Issue.record("\(row) did not throw")
        } catch {
            #expect(type(of: error) == row.expected, "\(row) threw \(type(of: error)): \(error)")
            #expect(!"\(error)".isEmpty)
        }
    }

    /// The public sizing surface of `Matrix`: `init()` is an empty output buffer that a product
    /// sizes, and a refused `reshape(validatingRows:cols:)` leaves the matrix as it was.
    @Test func publicMatrixSizingSurface() throws {
        var y = Matrix<Float>()
        #expect(y.rows == 0 && y.cols == 0 && y.storage.isEmpty)
        try gemm(Matrix<Float>(validatingRows: 2, cols: 3, repeating: 1), .none,
                 Matrix<Float>(validatingRows: 3, cols: 4, repeating: 2), into: &y)
        #expect(y == (try Matrix<Float>(validatingRows: 2, cols: 4, repeating: 6)))
        let before = y
        #expect(throws: ShapeError.self) { try y.reshape(validatingRows: -1, cols: 8) }
        #expect(y == before)
        try y.reshape(validatingRows: 4, cols: 2)
        #expect(y.rows == 4 && y.cols == 2 && y.storage == before.storage)
    }
}
