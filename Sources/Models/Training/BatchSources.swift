import PixelflyCore

/// Where training batches and held-out evaluations come from.
protocol BatchSource {
    /// Training steps that make one pass over the training data (for epoch counting).
    var stepsPerEpoch: Int { get }
    /// Writes the next training batch into caller-owned buffers.
    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws
    /// Replays the data stream past `steps` batches (resume).
    mutating func skip(steps: Int)
    /// Unsmoothed loss and accuracy on the held-out split.
    func evaluate(_ trainer: Trainer<Float>) throws -> (loss: Double, accuracy: Double)
}

/// Fashion-MNIST: shuffled mini-batches of the training split; the whole test split for evaluation.
struct ImageBatches: BatchSource {
    let training: ImageDataset
    let test: ImageDataset
    var sampler: ImageBatchSampler
    let evaluationBatchSize: Int

    init(_ c: TrainingConfiguration) throws {
        training = try FashionMNIST.load(directory: c.dataDirectory, split: .train, limit: c.trainingLimit, normalization: .standardized)
        test = try FashionMNIST.load(directory: c.dataDirectory, split: .test, limit: c.testLimit, normalization: .standardized)
        sampler = try ImageBatchSampler(exampleCount: training.count, batchSize: c.batchSize, seed: c.seed &+ 1)
        evaluationBatchSize = c.evaluationBatchSize
    }

    var stepsPerEpoch: Int { sampler.batchesPerEpoch }

    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws {
        try sampler.nextBatch(from: training, images: &inputs, labels: &labels)
    }

    mutating func skip(steps: Int) { sampler.skip(batches: steps) }

    func evaluate(_ trainer: Trainer<Float>) throws -> (loss: Double, accuracy: Double) {
        var images = Matrix<Float>(rows: 0, cols: 0)
        var labels: [Int] = []
        var (lossSum, correct) = (0.0, 0)
        for start in stride(from: 0, to: test.count, by: evaluationBatchSize) {
            let end = min(start + evaluationBatchSize, test.count)
            try test.copyExamples(in: start..<end, images: &images, labels: &labels)
            let (loss, right) = try trainer.evaluate(inputs: images, labels: labels)
            lossSum += loss * Double(end - start)
            correct += right
        }
        return (lossSum / Double(test.count), Double(correct) / Double(test.count))
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

    init(_ c: TrainingConfiguration, context: Int) throws {
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
            Self.split(windows, context: context, batch: c.batchSize, inputs: &inputs, labels: &labels)
            batches.append((inputs, labels))
        }
        validation = batches
    }

    var stepsPerEpoch: Int { max(1, corpus.training.count / (sampler.batchSize * context)) }

    mutating func nextBatch(inputs: inout Matrix<Float>, labels: inout [Int]) throws {
        try sampler.nextBatch(from: corpus.training, into: &windows)
        Self.split(windows, context: context, batch: sampler.batchSize, inputs: &inputs, labels: &labels)
    }

    mutating func skip(steps: Int) { sampler.skip(batches: steps) }

    func evaluate(_ trainer: Trainer<Float>) throws -> (loss: Double, accuracy: Double) {
        var (lossSum, correct, count) = (0.0, 0, 0)
        for (inputs, labels) in validation {
            let (loss, right) = try trainer.evaluate(inputs: inputs, labels: labels)
            lossSum += loss * Double(labels.count)
            correct += right
            count += labels.count
        }
        return (lossSum / Double(count), Double(correct) / Double(count))
    }

    /// Windows of T + 1 tokens → inputs (columns 0..<T) and labels (columns 1…T), row-major.
    static func split(_ windows: [Int], context: Int, batch: Int, inputs: inout Matrix<Float>, labels: inout [Int]) {
        inputs.ensureShape(rows: batch, cols: context)
        labels.removeAll(keepingCapacity: true)
        inputs.withUnsafeMutableBufferPointer { x in
            for b in 0..<batch {
                for t in 0..<context {
                    x[b * context + t] = Float(windows[b * (context + 1) + t])
                    labels.append(windows[b * (context + 1) + t + 1])
                }
            }
        }
    }
}
