import PixelflyData
import PixelflyCore
import Testing

@Suite("Fashion-MNIST reader")
struct FashionMNISTTests {
    @Test func trainingSplitLoadsWithKnownHistogram() throws {
        let train = try FashionMNIST.load(split: .train)
        #expect(train.count == 60_000)
        #expect(train.height == 28 && train.width == 28)
        #expect(train.images.rows == 60_000 && train.images.cols == 784)
        #expect(train.classHistogram == Array(repeating: 6_000, count: 10))
        // The first ten training labels of the published files.
        #expect(Array(train.labels.prefix(10)) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        let (low, high) = train.images.withUnsafeBufferPointer { pixels in
            pixels.reduce((Float.infinity, -Float.infinity)) { (min($0.0, $1), max($0.1, $1)) }
        }
        #expect(low == 0 && high == 1, "pixels span [\(low), \(high)], expected [0, 1]")
        let statistics = train.pixelStatistics()
        #expect(abs(statistics.mean - Double(FashionMNIST.trainingPixelMean)) < 1e-6, "mean \(statistics.mean)")
        #expect(abs(statistics.standardDeviation - Double(FashionMNIST.trainingPixelStandardDeviation)) < 1e-6,
                "std \(statistics.standardDeviation)")
    }

    @Test func testSplitLoadsWithKnownHistogram() throws {
        let test = try FashionMNIST.load(split: .test)
        #expect(test.count == 10_000)
        #expect(test.classHistogram == Array(repeating: 1_000, count: 10))
        #expect(test.classNames.count == 10 && test.classNames[9] == "Ankle boot")
    }

    @Test func limitAndStandardizationAgreeWithFullLoad() throws {
        let full = try FashionMNIST.load(split: .test)
        let first = try FashionMNIST.load(split: .test, limit: 100, normalization: .standardized)
        #expect(first.count == 100)
        #expect(first.labels == Array(full.labels.prefix(100)))
        let mean = FashionMNIST.trainingPixelMean
        let std = FashionMNIST.trainingPixelStandardDeviation
        var worst: Float = 0
        for i in 0..<(100 * 784) {
            worst = max(worst, abs(first.images.storage[i] - (full.images.storage[i] - mean) / std))
        }
        #expect(worst < 1e-5, "standardized pixels differ from (x − μ)/σ by \(worst)")
    }

    @Test func samplerVisitsEveryExampleOncePerEpochAndIsSeeded() throws {
        var sampler = try ImageBatchSampler(exampleCount: 103, batchSize: 10, seed: 7)
        #expect(sampler.batchesPerEpoch == 10)
        var again = try ImageBatchSampler(exampleCount: 103, batchSize: 10, seed: 7)
        var other = try ImageBatchSampler(exampleCount: 103, batchSize: 10, seed: 8)
        var epochs: [[Int]] = []
        var differs = false
        for _ in 0..<3 {
            var seen: [Int] = []
            for _ in 0..<sampler.batchesPerEpoch {
                let batch = Array(sampler.nextIndices())
                #expect(batch == Array(again.nextIndices()))
                differs = differs || batch != Array(other.nextIndices())
                seen += batch
            }
            #expect(Set(seen).count == 100, "an epoch repeated an example")
            epochs.append(seen)
        }
        #expect(differs, "seeds 7 and 8 gave the same batches")
        #expect(epochs[0] != epochs[1], "the second epoch was not reshuffled")
        #expect(sampler.epoch == 2)
        var resumed = try ImageBatchSampler(exampleCount: 103, batchSize: 10, seed: 7)
        resumed.skip(batches: 25)
        #expect(Array(resumed.nextIndices()) == Array(epochs[2][50..<60]))
    }

    @Test func batchesCopyTheRightExamples() throws {
        let data = try FashionMNIST.load(split: .test, limit: 64)
        var sampler = try ImageBatchSampler(exampleCount: 64, batchSize: 16, seed: 3)
        var replay = sampler
        var images = Matrix<Float>(rows: 0, cols: 0)
        var labels: [Int] = []
        try sampler.nextBatch(from: data, images: &images, labels: &labels)
        let indices = Array(replay.nextIndices())
        #expect(images.rows == 16 && images.cols == 784 && labels.count == 16)
        for (row, index) in indices.enumerated() {
            #expect(images.row(row) == data.images.row(index))
            #expect(labels[row] == data.labels[index])
        }
    }

    @Test func consecutiveRangesCopyInOrder() throws {
        let data = try FashionMNIST.load(split: .test, limit: 50)
        var images = Matrix<Float>(rows: 0, cols: 0)
        var labels: [Int] = []
        try data.copyExamples(in: 40..<50, images: &images, labels: &labels)
        #expect(images.rows == 10 && labels == Array(data.labels[40..<50]))
        #expect(images.row(9) == data.images.row(49))
        #expect(thrownMessage { try data.copyExamples(in: 45..<51, images: &images, labels: &labels) }?.contains("index 50 is outside 0..<50") == true)
        let holdOut = try data.subset(30..<50)
        #expect(holdOut.count == 20 && holdOut.labels == Array(data.labels[30..<50]) && holdOut.images.row(0) == data.images.row(30))
        #expect(thrownMessage { _ = try data.subset(40..<60) }?.contains("outside 0..<50") == true)
    }

    @Test func badSamplerConfigurationsThrow() {
        #expect(thrownMessage { _ = try ImageBatchSampler(exampleCount: 5, batchSize: 0, seed: 1) }?.contains("positive") == true)
        #expect(thrownMessage { _ = try ImageBatchSampler(exampleCount: 5, batchSize: 6, seed: 1) }?.contains("exceeds") == true)
    }
}

@Suite("Fashion-MNIST batches allocate nothing", .serialized)
struct FashionMNISTAllocationTests {
    @Test func steadyStateBatchesAreAllocationFree() throws {
        let data = try FashionMNIST.load(split: .test, limit: 200)
        var sampler = try ImageBatchSampler(exampleCount: 200, batchSize: 32, seed: 11)
        var images = Matrix<Float>(rows: 0, cols: 0)
        var labels: [Int] = []
        try sampler.nextBatch(from: data, images: &images, labels: &labels)
        // Twenty batches cross three epoch boundaries (6 batches per epoch), so reshuffles count too.
        let count = try countAllocations {
            for _ in 0..<20 { try sampler.nextBatch(from: data, images: &images, labels: &labels) }
        }
        #expect(count == 0, "\(count) allocations in 20 steady-state batches")
    }
}
