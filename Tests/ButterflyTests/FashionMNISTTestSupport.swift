import CZlib
import Foundation

/// `bytes` compressed as a single-member gzip file by zlib (level 6), to build test IDX files.
func gzipCompressed(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS asks deflate for the gzip wrapper; memory level 8 is zlib's default.
    precondition(deflateInit2_(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
    var input = bytes
    let status = input.withUnsafeMutableBufferPointer { source in
        output.withUnsafeMutableBufferPointer { destination in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            stream.next_out = destination.baseAddress
            stream.avail_out = UInt32(destination.count)
            return deflate(&stream, Z_FINISH)
        }
    }
    precondition(status == Z_STREAM_END, "deflate failed with \(status)")
    return Array(output[0..<Int(stream.total_out)])
}

/// `bytes` decompressed by one `inflate(Z_FINISH)` call into a 1 MiB buffer, or nil unless that
/// ends the gzip member exactly at the end of the input (zlib checks CRC-32 and length): a
/// reference for the reader's own loop, sharing only zlib with it.
func gzipReference(_ bytes: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var input = bytes
    var output = [UInt8](repeating: 0, count: 1 << 20)
    let status = input.withUnsafeMutableBufferPointer { source in
        output.withUnsafeMutableBufferPointer { destination in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            stream.next_out = destination.baseAddress
            stream.avail_out = UInt32(destination.count)
            return inflate(&stream, Z_FINISH)
        }
    }
    guard status == Z_STREAM_END, stream.avail_in == 0 else { return nil }
    return Array(output[0..<Int(stream.total_out)])
}

/// An uncompressed IDX file: magic `00 00 08 rank`, big-endian sizes, then `values`.
func idxBytes(magic: Int, dimensions: [Int], values: [UInt8]) -> [UInt8] {
    func word(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    return word(magic) + dimensions.flatMap(word) + values
}

/// A small synthetic Fashion-MNIST-shaped pair: `count` 28×28 images and labels `i mod 10`.
struct SmallIDXPair {
    let images: [UInt8]
    let labels: [UInt8]

    init(count: Int, rows: Int = 28, cols: Int = 28, labelCount: Int? = nil,
         imageMagic: Int = 2051, labelMagic: Int = 2049) {
        let pixels: [UInt8] = (0..<(count * rows * cols)).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 7 + i / 13) }
        images = idxBytes(magic: imageMagic, dimensions: [count, rows, cols], values: pixels)
        let n = labelCount ?? count
        labels = idxBytes(magic: labelMagic, dimensions: [n], values: (0..<n).map { UInt8($0 % 10) })
    }
}
