import PixelflyCore

/// Labelled images held in memory: one flattened image per row.
///
/// `images` is (count, height·width), row-major pixels; `labels[i]` ∈ `0..<classNames.count`
/// is the class of row `i`.
public struct ImageDataset: Sendable {
    public let images: Matrix<Float>
    public let labels: [Int]
    public let height: Int
    public let width: Int
    public let classNames: [String]

    public init(images: Matrix<Float>, labels: [Int], height: Int, width: Int, classNames: [String]) throws {
        guard images.cols == height * width else {
            throw ShapeError("ImageDataset", "images have \(images.cols) pixels per row; \(height)×\(width) needs \(height * width)")
        }
        guard images.rows == labels.count else {
            throw ShapeError("ImageDataset", "\(images.rows) images but \(labels.count) labels")
        }
        if let bad = labels.firstIndex(where: { !(0..<classNames.count).contains($0) }) {
            throw ShapeError("ImageDataset", "label \(labels[bad]) at index \(bad) is outside 0..<\(classNames.count)")
        }
        self.images = images
        self.labels = labels
        self.height = height
        self.width = width
        self.classNames = classNames
    }

    public var count: Int { labels.count }
    public var pixelsPerImage: Int { height * width }
    public var classCount: Int { classNames.count }

    /// How many examples carry each label (index = label).
    public var classHistogram: [Int] {
        var histogram = [Int](repeating: 0, count: classCount)
        for label in labels { histogram[label] += 1 }
        return histogram
    }

    /// The examples `range` as a data set of their own (e.g. a validation hold-out).
    public func subset(_ range: Range<Int>) throws -> ImageDataset {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw ShapeError("ImageDataset.subset", "range \(range) is outside 0..<\(count)")
        }
        var subsetImages = Matrix<Float>(rows: 0, cols: 0)
        var subsetLabels: [Int] = []
        try copyExamples(in: range, images: &subsetImages, labels: &subsetLabels)
        return try ImageDataset(images: subsetImages, labels: subsetLabels, height: height, width: width, classNames: classNames)
    }

    /// Copies the examples `indices` into caller-owned buffers: `images` becomes
    /// (indices.count, pixelsPerImage) and `labels` holds their labels. Allocates only when the
    /// batch is larger than the buffers have held before (labels: when its size changes).
    public func copyExamples(_ indices: ArraySlice<Int>, images batchImages: inout Matrix<Float>,
                             labels batchLabels: inout [Int]) throws {
        try indices.withUnsafeBufferPointer { chosen in
            try copyExamples(count: chosen.count, images: &batchImages, labels: &batchLabels) { chosen[$0] }
        }
    }

    /// Copies the consecutive examples `range` (evaluation in order), like `copyExamples(_:images:labels:)`.
    public func copyExamples(in range: Range<Int>, images batchImages: inout Matrix<Float>,
                             labels batchLabels: inout [Int]) throws {
        try copyExamples(count: range.count, images: &batchImages, labels: &batchLabels) { range.lowerBound + $0 }
    }

    private func copyExamples(count batch: Int, images batchImages: inout Matrix<Float>, labels batchLabels: inout [Int],
                              example: (Int) -> Int) throws {
        for row in 0..<batch where !(0..<count).contains(example(row)) {
            throw ShapeError("ImageDataset.copyExamples", "index \(example(row)) is outside 0..<\(count)")
        }
        let width = pixelsPerImage
        batchImages.reshape(rows: batch, cols: width)
        if batchLabels.count != batch { batchLabels = [Int](repeating: 0, count: batch) }
        labels.withUnsafeBufferPointer { allLabels in
            batchLabels.withUnsafeMutableBufferPointer { destination in
                for row in 0..<batch { destination[row] = allLabels[example(row)] }
            }
        }
        images.withUnsafeBufferPointer { source in
            batchImages.withUnsafeMutableBufferPointer { destination in
                // Raw copies: the typed `update(from:count:)` allocates in unoptimised builds.
                let rowBytes = width * MemoryLayout<Float>.stride
                for row in 0..<batch {
                    UnsafeMutableRawPointer(destination.baseAddress! + row * width)
                        .copyMemory(from: source.baseAddress! + example(row) * width, byteCount: rowBytes)
                }
            }
        }
    }

    /// The mean and standard deviation of all pixels (accumulated in Double).
    public func pixelStatistics() -> (mean: Double, standardDeviation: Double) {
        var sum = 0.0
        var sumOfSquares = 0.0
        images.withUnsafeBufferPointer { pixels in
            for value in pixels {
                sum += Double(value)
                sumOfSquares += Double(value) * Double(value)
            }
        }
        let n = Double(max(images.count, 1))
        let mean = sum / n
        return (mean, max(sumOfSquares / n - mean * mean, 0).squareRoot())
    }
}
