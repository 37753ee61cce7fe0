import PixelflyCore

/// Seeded, shuffled mini-batches over a data set of `exampleCount` examples, epoch after epoch.
///
/// Each epoch visits a fresh permutation of `0..<exampleCount` (a Fisher–Yates shuffle drawn
/// from one `SeededRandom` stream), in `batchesPerEpoch = ⌊exampleCount / batchSize⌋` full
/// batches; the last `exampleCount mod batchSize` examples of each permutation are skipped.
/// The same seed gives the same batches; `skip(batches:)` replays the stream so that a resumed
/// run sees the batches an uninterrupted run would. After construction nothing allocates: the
/// permutation is reshuffled in place and batches are copied into caller-owned buffers.
public struct ImageBatchSampler: Sendable {
    public let exampleCount: Int
    public let batchSize: Int
    public let shuffle: Bool
    /// Completed epochs.
    public private(set) var epoch = 0
    /// Index of the next batch within the current epoch.
    public private(set) var batchInEpoch = 0
    private var order: [Int]
    private var rng: SeededRandom

    public init(exampleCount: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true) throws {
        guard batchSize > 0 else { throw ShapeError("ImageBatchSampler", "batch size must be positive, got \(batchSize)") }
        guard exampleCount >= batchSize else {
            throw ShapeError("ImageBatchSampler", "batch size \(batchSize) exceeds the \(exampleCount) examples")
        }
        self.exampleCount = exampleCount
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.order = Array(0..<exampleCount)
        self.rng = SeededRandom(seed: seed)
        reshuffle()
    }

    public var batchesPerEpoch: Int { exampleCount / batchSize }

    /// The example indices of the next batch (advances the sampler).
    public mutating func nextIndices() -> ArraySlice<Int> {
        if batchInEpoch == batchesPerEpoch {
            epoch += 1
            batchInEpoch = 0
            reshuffle()
        }
        defer { batchInEpoch += 1 }
        return order[(batchInEpoch * batchSize)..<((batchInEpoch + 1) * batchSize)]
    }

    /// Fills `images` (batchSize, pixels) and `labels` with the next batch of `dataset`.
    public mutating func nextBatch(from dataset: ImageDataset, images: inout Matrix<Float>, labels: inout [Int]) throws {
        guard dataset.count == exampleCount else {
            throw ShapeError("ImageBatchSampler.nextBatch", "sampler built for \(exampleCount) examples, data set has \(dataset.count)")
        }
        try dataset.copyExamples(nextIndices(), images: &images, labels: &labels)
    }

    /// Advances past `batches` batches without copying data (to resume a run).
    public mutating func skip(batches: Int) {
        for _ in 0..<max(batches, 0) { _ = nextIndices() }
    }

    private mutating func reshuffle() {
        guard shuffle else { return }
        // Through a buffer pointer: `Array.swapAt` allocates in unoptimised builds.
        order.withUnsafeMutableBufferPointer { order in
            for i in stride(from: exampleCount - 1, to: 0, by: -1) {
                let j = rng.index(below: i + 1)
                (order[i], order[j]) = (order[j], order[i])
            }
        }
    }
}
