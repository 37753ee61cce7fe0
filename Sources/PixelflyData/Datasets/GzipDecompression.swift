import CZlib
import PixelflyCore

/// Decompression of single-member gzip files (RFC 1952) through zlib's `inflate`.
///
/// zlib checks the deflate stream, the CRC-32 and the length in the gzip trailer; this wrapper
/// adds what `gzread` would silently accept: a file that is not gzip at all (gzread passes such
/// files through unchanged), a stream that ends early, and bytes after the end of the member.
enum Gzip {
    /// Refuse to inflate beyond this many bytes (Fashion-MNIST's largest file inflates to 47 MB);
    /// a damaged length field can then never make the reader allocate without bound.
    static let maximumDecompressedBytes = 1 << 28

    /// The decompressed contents of the gzip file `compressed`, read from `path` (named in errors).
    ///
    /// zlib counts input and output space in 32-bit `uInt`s, so both are handed over in pieces
    /// of at most `chunkBytes` (2³² − 1; tests pass a small value to exercise the refills): a
    /// file or an output of 4 GiB or more must not trap in a `UInt32` conversion.
    static func decompress(_ compressed: [UInt8], path: String, limit: Int = maximumDecompressedBytes,
                           chunkBytes: Int = Int(UInt32.max)) throws -> [UInt8] {
        guard !compressed.isEmpty else { throw FileError(path, "empty file (expected gzip data)") }
        guard compressed.count >= 2, compressed[0] == 0x1f, compressed[1] == 0x8b else {
            let start = compressed.prefix(2).map { hex($0) }.joined(separator: " ")
            throw FileError(path, "not a gzip file: starts with \(start), expected 1f 8b")
        }
        // A gzip member is at least a 10-byte header and an 8-byte trailer.
        guard compressed.count >= 18 else {
            throw FileError(path, "truncated gzip file: \(compressed.count) bytes, a gzip member needs at least 18")
        }
        // The trailer's ISIZE (length mod 2³²) is only a capacity hint, which zlib verifies;
        // deflate expands at most 1032-fold, which bounds the hint of a damaged trailer.
        let sizeHint = compressed.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        var output = [UInt8](repeating: 0, count: max(1 << 16, min(sizeHint, limit, 1032 * compressed.count)))

        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip wrapper (and nothing else), with a 32 KiB window.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FileError(path, "zlib could not initialise a decompressor")
        }
        defer { inflateEnd(&stream) }

        let chunk = max(1, chunkBytes)
        var produced = 0
        var handedOver = 0 // input bytes given to zlib so far; those not consumed are in avail_in
        var status = Z_OK
        try compressed.withUnsafeBufferPointer { input in
            while true {
                if stream.avail_in == 0 && handedOver < input.count {
                    let piece = min(input.count - handedOver, chunk)
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + handedOver)
                    stream.avail_in = UInt32(piece)
                    handedOver += piece
                }
                if produced == output.count {
                    guard output.count <= limit else {
                        throw FileError(path, "decompresses to more than \(limit) bytes; refusing to continue")
                    }
                    output.append(contentsOf: repeatElement(0, count: min(output.count, limit + 1 - output.count)))
                }
                status = output.withUnsafeMutableBufferPointer { out in
                    let room = min(out.count - produced, chunk)
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return result
                }
                if status == Z_STREAM_END { break }
                if status == Z_OK { continue }
                // Z_BUF_ERROR: no progress possible — fine if it only needs more room or more input.
                if status == Z_BUF_ERROR && (stream.avail_out == 0 || (stream.avail_in == 0 && handedOver < input.count)) { continue }
                throw FileError(path, describe(status, stream: stream))
            }
        }
        let unread = Int(stream.avail_in) + (compressed.count - handedOver)
        guard unread == 0 else {
            throw FileError(path, "\(unread) unexpected bytes after the end of the gzip stream")
        }
        guard produced <= limit else {
            throw FileError(path, "decompresses to more than \(limit) bytes; refusing to continue")
        }
        output.removeLast(output.count - produced)
        return output
    }

    private static func describe(_ status: Int32, stream: z_stream) -> String {
        let detail = stream.msg.map { String(cString: $0) } ?? "no detail"
        switch status {
        case Z_BUF_ERROR:
            return "truncated gzip file: the compressed stream ends before its end marker"
        case Z_DATA_ERROR:
            return "corrupt gzip data (\(detail))"
        case Z_MEM_ERROR:
            return "zlib ran out of memory while decompressing"
        default:
            return "zlib error \(status) (\(detail))"
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
