import PixelflyCore

/// An IDX array of unsigned bytes (the format of the MNIST family), header checked.
///
/// Layout (big-endian): a 4-byte magic `00 00 08 d` — `08` means unsigned bytes, `d` is the
/// number of dimensions — then `d` 4-byte sizes, then exactly `∏ sizes` bytes in row-major
/// order. Image files have magic 2051 (`d = 3`: count, rows, cols), label files 2049 (`d = 1`).
struct IDXFile {
    static let imageMagic = 2051
    static let labelMagic = 2049

    /// The sizes from the header, outermost first.
    let dimensions: [Int]
    /// The whole decompressed file; the values start at `payloadOffset`.
    let bytes: [UInt8]
    let payloadOffset: Int

    /// Reads and checks the gzip-compressed IDX file at `path`, which must carry `magic`.
    static func read(_ path: String, magic: Int) throws -> IDXFile {
        let raw = try readFileBytes(path)
        return try parse(Gzip.decompress(raw, path: path), path: path, magic: magic)
    }

    /// Checks the header of the decompressed `bytes` and that the length matches it exactly.
    static func parse(_ bytes: [UInt8], path: String, magic expected: Int) throws -> IDXFile {
        let kind = expected == imageMagic ? "an image file" : "a label file"
        guard bytes.count >= 4 else {
            throw FileError(path, "truncated IDX header: \(bytes.count) bytes, the magic number alone needs 4")
        }
        let magic = bigEndianWord(bytes, at: 0)
        guard magic == expected else {
            throw FileError(path, "bad magic number \(magic) for \(kind); expected \(expected) (2051 images, 2049 labels)")
        }
        let rank = expected & 0xff
        let headerLength = 4 + 4 * rank
        guard bytes.count >= headerLength else {
            throw FileError(path, "truncated IDX header: \(bytes.count) bytes, \(rank) dimensions need \(headerLength)")
        }
        let dimensions = (0..<rank).map { bigEndianWord(bytes, at: 4 + 4 * $0) }
        var payloadLength = 1
        for size in dimensions {
            let (product, overflow) = payloadLength.multipliedReportingOverflow(by: size)
            guard !overflow else { throw FileError(path, "dimensions \(dimensions) overflow the addressable size") }
            payloadLength = product
        }
        let available = bytes.count - headerLength
        guard available >= payloadLength else {
            throw FileError(path, "truncated: header declares dimensions \(dimensions) = \(payloadLength) bytes of data, file has \(available)")
        }
        guard available == payloadLength else {
            throw FileError(path, "\(available - payloadLength) unexpected trailing bytes after the \(payloadLength) bytes declared by dimensions \(dimensions)")
        }
        return IDXFile(dimensions: dimensions, bytes: bytes, payloadOffset: headerLength)
    }

    private static func bigEndianWord(_ bytes: [UInt8], at offset: Int) -> Int {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
}
