import PixelflyCore
import PixelflyData

/// Where training batches and held-out evaluations come from. Data-parallel, every rank draws
/// the same global batches (same seed) and keeps its `DataShard`'s rows, and evaluates its
/// share of the held-out split.
protocol BatchSource {
    /// Training steps that make one pass over the training data (for epoch counting).
    var stepsPerEpoch: Int { get }
    /// Writes this rank's rows of the next global training batch into caller-owned buffers.
    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws
    /// Replays the data stream past `steps` batches (resume).
    mutating func skip(steps: Int)
    /// Summed unsmoothed loss, correct predictions and predictions made on this rank's share of
    /// the held-out split (divide the sums over ranks by the summed count).
    func evaluate(_ trainer: Trainer<Float>) throws -> (lossSum: Double, correct: Int, count: Int)
}

/// Fashion-MNIST: shuffled mini-batches of the training split; the whole test split for evaluation.
struct ImageBatches: BatchSource {
    let training: ImageDataset
    let test: ImageDataset
    var sampler: ImageBatchSampler
    let evaluationBatchSize: Int
    let shard: DataShard
    /// This rank's rows of each global batch.
    let rows: Range<Int>

    init(_ c: TrainingConfiguration, shard: DataShard) throws {
        training = try FashionMNIST.load(directory: c.dataDirectory, split: .train, limit: c.trainingLimit, normalization: .standardized)
        test = try FashionMNIST.load(directory: c.dataDirectory, split: .test, limit: c.testLimit, normalization: .standardized)
        sampler = try ImageBatchSampler(exampleCount: training.count, batchSize: c.batchSize, seed: c.seed &+ 1)
        evaluationBatchSize = c.evaluationBatchSize
        self.shard = shard
        rows = try shard.rows(ofBatch: c.batchSize)
    }

    var stepsPerEpoch: Int { sampler.batchesPerEpoch }

    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws {
        let batch = sampler.nextIndices()
        let first = batch.startIndex
        try training.copyExamples(batch[(first + rows.lowerBound)..<(first + rows.upperBound)], images: &inputs, labels: &labels)
    }

    mutating func skip(steps: Int) { sampler.skip(batches: steps) }

    func evaluate(_ trainer: Trainer<Float>) throws -> (lossSum: Double, correct: Int, count: Int) {
        var images = Matrix<Float>(rows: 0, cols: 0)
        var labels: [Int] = []
        var (lossSum, correct) = (0.0, 0)
        let share = shard.share(of: test.count)
        for start in stride(from: share.lowerBound, to: share.upperBound, by: evaluationBatchSize) {
            let end = min(start + evaluationBatchSize, share.upperBound)
            try test.copyExamples(in: start..<end, images: &images, labels: &labels)
            let (loss, right) = try trainer.evaluate(inputs: images, labels: labels)
            lossSum += loss * Double(end - start)
            correct += right
        }
        return (lossSum, correct, share.count)
    }
}

/// A byte corpus: random training windows; a fixed set of validation windows for evaluation.
struct TextBatches: BatchSource {
    let corpus: TextCorpus
    let context: Int
    var sampler: TokenWindowSampler
    var windows: [Int] = []
    /// Pre-drawn validation batches: (inputs (B, T), next-byte labels (B·T)).
    let validation: [(Matrix<Float>, [Int])]
    let shard: DataShard
    /// This rank's rows (windows) of each global batch.
    let rows: Range<Int>

    init(_ c: TrainingConfiguration, context: Int, shard: DataShard) throws {
        self.shard = shard
        rows = try shard.rows(ofBatch: c.batchSize)
        corpus = try c.corpusHeldOutEvery.map { try TextCorpus.load(path: c.corpusPath, heldOutEvery: $0) }
            ?? TextCorpus.load(path: c.corpusPath)
        self.context = context
        sampler = try TokenWindowSampler(tokenCount: corpus.training.count, context: context, batchSize: c.batchSize, seed: c.seed &+ 1)
        var validationSampler = try TokenWindowSampler(tokenCount: corpus.validation.count, context: context,
                                                       batchSize: c.batchSize, seed: c.seed &+ 2)
        var batches: [(Matrix<Float>, [Int])] = []
        var windows: [Int] = []
        for _ in 0..<c.evaluationBatches {
            try validationSampler.nextBatch(from: corpus.validation, into: &windows)
            var inputs = Matrix<Float>(rows: 0, cols: 0)
            var labels: [Int] = []
            Self.split(windows, context: context, rows: 0..<c.batchSize, inputs: &inputs, labels: &labels)
            batches.append((inputs, labels))
        }
        validation = batches
    }

    var stepsPerEpoch: Int { max(1, corpus.training.count / (sampler.batchSize * context)) }

    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws {
        try sampler.nextBatch(from: corpus.training, into: &windows)
        Self.split(windows, context: context, rows: rows, inputs: &inputs, labels: &labels)
    }

    mutating func skip(steps: Int) { sampler.skip(batches: steps) }

    func evaluate(_ trainer: Trainer<Float>) throws -> (lossSum: Double, correct: Int, count: Int) {
        var (lossSum, correct, count) = (0.0, 0, 0)
        for (inputs, labels) in validation[shard.share(of: validation.count)] {
            let (loss, right) = try trainer.evaluate(inputs: inputs, labels: labels)
            lossSum += loss * Double(labels.count)
            correct += right
            count += labels.count
        }
        return (lossSum, correct, count)
    }

    /// Windows `rows` of T + 1 tokens each → inputs (columns 0..<T) and labels (columns 1…T), row-major.
    static func split(_ windows: [Int], context: Int, rows: Range<Int>, inputs: inout Matrix<Float>, labels: inout [Int]) {
        inputs.ensureShape(rows: rows.count, cols: context)
        labels.removeAll(keepingCapacity: true)
        inputs.withUnsafeMutableBufferPointer { x in
            for (row, b) in rows.enumerated() {
                for t in 0..<context {
                    x[row * context + t] = Float(windows[b * (context + 1) + t])
                    labels.append(windows[b * (context + 1) + t + 1])
                }
            }
        }
    }
}
