@_spi(Fuzzing) import PixelflyData
import PixelflyCore

/// libFuzzer entry point: an image IDX file and a label IDX file, uncompressed, so that the
/// fuzzer reaches the IDX checks directly rather than through gzip's CRC.
///
/// Input layout: a 4-byte little-endian length `n`, then the image file (the next
/// min(n, remaining) bytes), then the label file (the rest). Both halves are parsed as IDX
/// with each magic, then decoded together as Fashion-MNIST. A thrown `FileError` is the
/// expected outcome for a bad file; anything else — a trap, an AddressSanitizer report, another
/// error type, or a broken invariant — is a finding. Invariants of an accepted pair: the data
/// set holds as many images as the header says, 784 features each, every label in 0..<10, and
/// every feature is its pixel byte / 255.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let declared = bytes.prefix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
    let body = bytes.dropFirst(4)
    let split = body.startIndex + min(declared, body.count)
    let images = Array(body[..<split]), labels = Array(body[split...])

    for part in [images, labels] {
        for magic in [2051, 2049] {
            do {
                let dimensions = try FuzzingEntryPoints.idxDimensions(part, magic: magic)
                precondition(dimensions.count == magic & 0xff && dimensions.allSatisfy { $0 >= 0 })
                precondition(dimensions.reduce(1, *) == part.count - 4 - 4 * dimensions.count,
                             "accepted IDX length does not match its header")
            } catch is FileError {
            } catch {
                fatalError("IDX parse threw \(type(of: error)), not FileError: \(error)")
            }
        }
    }

    let limit = bytes.count % 3 == 0 ? 1 : nil
    do {
        let dataset = try FuzzingEntryPoints.fashionMNIST(imageIDX: images, labelIDX: labels, limit: limit)
        let count = images[4..<8].reduce(0) { $0 << 8 | Int($1) }
        precondition(dataset.count == min(count, limit ?? count) && dataset.images.cols == 784)
        precondition(dataset.labels.allSatisfy { (0..<10).contains($0) })
        for i in 0..<dataset.images.count {
            precondition(dataset.images.storage[i] == Float(images[16 + i]) / 255, "feature \(i) is not its pixel / 255")
        }
    } catch is FileError {
    } catch {
        fatalError("Fashion-MNIST decoding threw \(type(of: error)), not FileError: \(error)")
    }
    return 0
}
