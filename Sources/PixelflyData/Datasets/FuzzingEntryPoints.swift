import PixelflyCore

/// Byte-level entry points to the file readers, for the libFuzzer targets in `Fuzz/` (and for
/// regression tests that replay their inputs without touching the file system).
///
/// They are SPI: visible only to a client that writes `@_spi(Fuzzing) import PixelflyData`, so they
/// add nothing to the module's public API. Each runs exactly the checks the path-based readers
/// run (`FashionMNIST.load`, `IDXFile.read`); `path` only names the input in errors.
@_spi(Fuzzing)
public enum FuzzingEntryPoints {
    /// `Gzip.decompress`: the contents of a single-member gzip file, refusing more than `limit`
    /// bytes of output (default: the reader's own bound, 2²⁸).
    public static func gunzip(_ bytes: [UInt8], limit: Int? = nil, path: String = "input") throws -> [UInt8] {
        try Gzip.decompress(bytes, path: path, limit: limit ?? Gzip.maximumDecompressedBytes)
    }

    /// The dimensions of an uncompressed IDX file with magic `magic` (2051 images, 2049 labels).
    public static func idxDimensions(_ bytes: [UInt8], magic: Int, path: String = "input") throws -> [Int] {
        try IDXFile.parse(bytes, path: path, magic: magic).dimensions
    }

    /// Fashion-MNIST from the uncompressed image and label IDX files, checked as `FashionMNIST.load`
    /// checks them (images first, labels only if the images pass).
    public static func fashionMNIST(imageIDX: [UInt8], labelIDX: [UInt8], limit: Int? = nil,
                                    normalization: FashionMNIST.Normalization = .unitInterval) throws -> ImageDataset {
        if let limit, limit < 0 { throw ShapeError("FashionMNIST.load", "limit must be non-negative, got \(limit)") }
        return try FashionMNIST.decode(
            images: IDXFile.parse(imageIDX, path: "images", magic: IDXFile.imageMagic), imagesPath: "images",
            labels: { try IDXFile.parse(labelIDX, path: "labels", magic: IDXFile.labelMagic) }, labelsPath: "labels",
            limit: limit, normalization: normalization)
    }
}
