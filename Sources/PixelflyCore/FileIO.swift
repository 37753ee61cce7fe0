#if canImport(Glibc)
import Glibc
#endif

/// An I/O failure that names the file and what went wrong.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// Reads a whole file as bytes with `fopen`/`fread` (works for /proc files, whose size is 0).
public func readFileBytes(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        throw FileError(path, "cannot open (\(String(cString: strerror(errno))))")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(file) != 0 { throw FileError(path, "read error") }
            break
        }
    }
    return bytes
}

/// Reads a whole file as UTF-8 text (invalid sequences are repaired).
public func readTextFile(_ path: String) throws -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}

/// Writes `bytes` atomically: to `path.tmp-PID`, flushed and synced, then renamed over `path`,
/// so a crash leaves either the old file or the new one, never a partial file.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
    let temporary = "\(path).tmp-\(getpid())"
    guard let file = fopen(temporary, "wb") else {
        throw FileError(temporary, "cannot create (\(String(cString: strerror(errno))))")
    }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
    fclose(file)
    guard written == bytes.count, flushed else {
        unlink(temporary)
        throw FileError(temporary, "short write (\(written) of \(bytes.count) bytes)")
    }
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw FileError(path, "cannot rename temporary file into place (\(reason))")
    }
}
