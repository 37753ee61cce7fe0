@_spi(Fuzzing) import PixelflyData
import PixelflyCore

/// libFuzzer entry point: the input is a whole gzip file, read as `FashionMNIST.load` reads one.
///
/// The bytes go through the gzip reader twice — with its own 2²⁸-byte output bound and with a
/// 4 KiB bound — and, if they decompress, the output is parsed as an image and as a label IDX
/// file. A thrown `FileError` is the expected outcome for a bad file; anything else — a trap, an
/// AddressSanitizer report, another error type, or a broken invariant — is a finding.
/// Invariant: the small bound changes only whether an output longer than 4 KiB is refused,
/// never the output itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let smallLimit = 4096
    var output: [UInt8]?
    do {
        output = try FuzzingEntryPoints.gunzip(bytes)
    } catch is FileError {
    } catch {
        fatalError("gunzip threw \(type(of: error)), not FileError: \(error)")
    }
    do {
        let bounded = try FuzzingEntryPoints.gunzip(bytes, limit: smallLimit)
        precondition(bounded == output, "the output bound changed the output")
    } catch let error as FileError {
        if let output, output.count <= smallLimit {
            fatalError("a \(output.count)-byte output was refused under a \(smallLimit)-byte bound: \(error)")
        }
    } catch {
        fatalError("bounded gunzip threw \(type(of: error)), not FileError: \(error)")
    }
    guard let output else { return 0 }
    for magic in [2051, 2049] {
        do {
            _ = try FuzzingEntryPoints.idxDimensions(output, magic: magic)
        } catch is FileError {
        } catch {
            fatalError("IDX parse threw \(type(of: error)), not FileError: \(error)")
        }
    }
    return 0
}
