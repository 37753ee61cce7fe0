@testable import PixelflyData
import PixelflyCore
import Testing

/// The gzip reader hands zlib its input and output space in pieces of at most 2³² − 1 bytes
/// (zlib's counters are 32-bit), so a file or an output of 4 GiB or more does not trap in a
/// `UInt32` conversion. Small pieces exercise the same refills on small files: results, and
/// every error message, must not depend on the piece size.
@Suite("Gzip reader: input and output in pieces")
struct GzipChunkingTests {
    static let payload = SmallIDXPair(count: 3).images
    static let file = gzipCompressed(payload)

    @Test(arguments: [1, 2, 7, 64, 4096, Int(UInt32.max)])
    func piecesGiveTheSameOutput(_ chunkBytes: Int) throws {
        #expect(try Gzip.decompress(Self.file, path: "f", chunkBytes: chunkBytes) == Self.payload)
        // An output bound below the size is still enforced, at any piece size.
        let message = thrownMessage { _ = try Gzip.decompress(Self.file, path: "f", limit: 1000, chunkBytes: chunkBytes) }
        #expect(message == "f: decompresses to more than 1000 bytes; refusing to continue", "\(message ?? "no error")")
    }

    @Test(arguments: [1, 5, 4096])
    func damageIsReportedTheSameAtEveryPieceSize(_ chunkBytes: Int) {
        let cases: [(bytes: [UInt8], message: String)] = [
            (Self.file + [9, 9, 9], "f: 3 unexpected bytes after the end of the gzip stream"),
            (Self.file + Self.file, "f: \(Self.file.count) unexpected bytes after the end of the gzip stream"),
            (Array(Self.file.dropLast(5)), "f: truncated gzip file: the compressed stream ends before its end marker"),
        ]
        for (bytes, expected) in cases {
            let message = thrownMessage { _ = try Gzip.decompress(bytes, path: "f", chunkBytes: chunkBytes) }
            #expect(message == expected, "piece size \(chunkBytes): \(message ?? "no error")")
        }
    }
}
