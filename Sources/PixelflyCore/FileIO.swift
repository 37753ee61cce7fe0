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

/// Writes `bytes` atomically, so that a crash or kill at any moment leaves either the old file
/// or the complete new one at `path`, and no partial file anywhere.
///
/// On Linux the bytes go into an unnamed file in `path`'s directory (`O_TMPFILE`, which
/// vanishes if the process dies while writing); once synced, it is linked as `path.tmp-PID`
/// and renamed over `path`. Where the file system has no `O_TMPFILE`, the bytes are written to
/// `path.tmp-PID` directly (a kill during that write leaves that partial temporary file).
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws {
    let temporary = "\(path).tmp-\(getpid())"
    if try writeThroughUnnamedFile(bytes, linkedAs: temporary, directory: parentDirectory(of: path)) {
        try renameIntoPlace(temporary, path)
        return
    }
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
    try renameIntoPlace(temporary, path)
}

private func renameIntoPlace(_ temporary: String, _ path: String) throws {
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw FileError(path, "cannot rename temporary file into place (\(reason))")
    }
}

private func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// Writes and syncs `bytes` into an `O_TMPFILE` in `directory`, then links it as `name`.
/// Returns false (having created nothing) if the file system does not support `O_TMPFILE`.
private func writeThroughUnnamedFile(_ bytes: [UInt8], linkedAs name: String, directory: String) throws -> Bool {
    #if os(Linux)
    // O_TMPFILE is (__O_TMPFILE | O_DIRECTORY), a macro Swift does not import; __O_TMPFILE is
    // 0o20000000 on every Linux architecture Swift supports.
    let descriptor = open(directory, Int32(0o20000000) | O_DIRECTORY | O_WRONLY, 0o666)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else {
            throw FileError(name, "short write (\(offset) of \(bytes.count) bytes: \(String(cString: strerror(errno))))")
        }
        offset += n
    }
    guard fsync(descriptor) == 0 else { throw FileError(name, "fsync failed (\(String(cString: strerror(errno))))") }
    unlink(name)  // a leftover from an earlier process with the same PID
    guard linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else {
        throw FileError(name, "cannot link the written file (\(String(cString: strerror(errno))))")
    }
    return true
    #else
    return false
    #endif
}
