import PixelflyCore

/// The Fashion-MNIST data set (Xiao et al. 2017): 28×28 grey-scale images of clothing in ten
/// classes, 60 000 for training and 10 000 for testing, 6 000 / 1 000 per class.
///
/// Reads the gzip-compressed IDX files that Debian's `dataset-fashion-mnist` installs. Every
/// check failing — missing file, gzip damage (bad stream, CRC or length), wrong magic number,
/// dimensions other than 28×28, no images, length not matching the header, image and label
/// counts that differ, a label outside 0..<10 — throws a `FileError` naming the file and the problem.
public enum FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let height = 28
    public static let width = 28
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Mean and standard deviation of all training pixels on the [0, 1] scale, measured on the
    /// 47 040 000 training pixels (checked by the tests against the files).
    public static let trainingPixelMean: Float = 0.2860406
    public static let trainingPixelStandardDeviation: Float = 0.3530242

    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// How pixel bytes `p ∈ 0...255` become features.
    public enum Normalization: Sendable {
        /// `x = p / 255 ∈ [0, 1]`.
        case unitInterval
        /// `x = (p / 255 − μ) / σ` with the training-set `trainingPixelMean` and
        /// `trainingPixelStandardDeviation` (for both splits, so the test set sees the same map).
        case standardized
    }

    public static func imagesPath(directory: String = defaultDirectory, split: Split) -> String {
        "\(directory)/\(split.filePrefix)-images-idx3-ubyte.gz"
    }

    public static func labelsPath(directory: String = defaultDirectory, split: Split) -> String {
        "\(directory)/\(split.filePrefix)-labels-idx1-ubyte.gz"
    }

    /// Loads one split from `directory`; `limit` keeps only the first `limit` examples (the whole
    /// files are still read and checked).
    public static func load(directory: String = defaultDirectory, split: Split, limit: Int? = nil,
                            normalization: Normalization = .unitInterval) throws -> ImageDataset {
        try load(imagesPath: imagesPath(directory: directory, split: split),
                 labelsPath: labelsPath(directory: directory, split: split),
                 limit: limit, normalization: normalization)
    }

    /// Loads a pair of gzip IDX files (images with magic 2051, labels with magic 2049).
    public static func load(imagesPath: String, labelsPath: String, limit: Int? = nil,
                            normalization: Normalization = .unitInterval) throws -> ImageDataset {
        if let limit, limit < 0 { throw ShapeError("FashionMNIST.load", "limit must be non-negative, got \(limit)") }
        return try decode(images: IDXFile.read(imagesPath, magic: IDXFile.imageMagic), imagesPath: imagesPath,
                          labels: { try IDXFile.read(labelsPath, magic: IDXFile.labelMagic) }, labelsPath: labelsPath,
                          limit: limit, normalization: normalization)
    }

    /// The data set from a parsed image file and a label file, the latter read only once the
    /// images passed their checks (so a bad image file is reported first).
    static func decode(images imageFile: IDXFile, imagesPath: String, labels readLabels: () throws -> IDXFile,
                       labelsPath: String, limit: Int?, normalization: Normalization) throws -> ImageDataset {
        guard imageFile.dimensions[1] == height, imageFile.dimensions[2] == width else {
            throw FileError(imagesPath, "images are \(imageFile.dimensions[1])×\(imageFile.dimensions[2]); Fashion-MNIST images are \(height)×\(width)")
        }
        let count = imageFile.dimensions[0]
        guard count > 0 else { throw FileError(imagesPath, "contains no images") }
        let labelFile = try readLabels()
        guard labelFile.dimensions[0] == count else {
            throw FileError(labelsPath, "has \(labelFile.dimensions[0]) labels but \(imagesPath) has \(count) images")
        }
        let kept = min(count, limit ?? count)
        let labels = try decodeLabels(labelFile, path: labelsPath, keeping: kept)
        let images = decodeImages(imageFile, keeping: kept, normalization: normalization)
        return try ImageDataset(images: images, labels: labels, height: height, width: width, classNames: classNames)
    }

    /// The first `kept` labels; every label in the file is checked to lie in `0..<10`.
    private static func decodeLabels(_ file: IDXFile, path: String, keeping kept: Int) throws -> [Int] {
        var labels = [Int](repeating: 0, count: kept)
        for i in 0..<file.dimensions[0] {
            let label = Int(file.bytes[file.payloadOffset + i])
            guard label < classNames.count else {
                throw FileError(path, "label \(label) at index \(i) is outside 0..<\(classNames.count)")
            }
            if i < kept { labels[i] = label }
        }
        return labels
    }

    /// The first `kept` images as rows of features.
    private static func decodeImages(_ file: IDXFile, keeping kept: Int, normalization: Normalization) -> Matrix<Float> {
        // One correctly rounded feature per byte value, so that pixels map exactly as documented.
        let features: [Float] = (0...255).map { byte in
            let unit = Float(byte) / 255
            return switch normalization {
            case .unitInterval: unit
            case .standardized: (unit - trainingPixelMean) / trainingPixelStandardDeviation
            }
        }
        var images = Matrix<Float>(rows: kept, cols: height * width)
        images.withUnsafeMutableBufferPointer { destination in
            file.bytes.withUnsafeBufferPointer { source in
                features.withUnsafeBufferPointer { features in
                    let start = source.baseAddress! + file.payloadOffset
                    for i in 0..<destination.count { destination[i] = features[Int(start[i])] }
                }
            }
        }
        return images
    }
}
