import Foundation
import PixelflyCore

/// A byte-level text corpus: the UTF-8 bytes of one file, or of every file under a folder.
///
/// Tokens are bytes, so the vocabulary is `0..<256` and any text round-trips exactly. A folder
/// is walked recursively in sorted path order (deterministic); files ending in `.dat` (the
/// binary indices that `strfile` writes next to fortune files) are skipped, and a file reached
/// a second time through a symbolic link (`fortunes.u8 → fortunes`) is read once. Every file
/// read must be valid UTF-8. Each file is split in two: its first `1 − validationFraction` of
/// bytes go to `training`, the rest to `validation`, so both splits sample every file.
public struct TextCorpus: Sendable {
    /// Debian's fortune files: `fortunes-min` alone installs fortunes, literature and riddles
    /// (about 98 KB of English); with `fortunes` (which `make setup` installs) 43 files, 2.6 MB.
    public static let defaultPath = "/usr/share/games/fortunes"
    public static let vocabularySize = 256

    /// The files read, in order.
    public let files: [String]
    public let training: [UInt8]
    public let validation: [UInt8]
    /// The files held out whole (`load(path:heldOutEvery:)`); empty when every file was split.
    public let heldOutFiles: [String]

    /// Reads the file or folder at `path`; throws `FileError` naming the path if it is missing,
    /// holds no text, or a file is not UTF-8.
    public static func load(path: String = defaultPath, validationFraction: Double = 0.1) throws -> TextCorpus {
        guard validationFraction >= 0, validationFraction < 1 else {
            throw ConfigurationError("TextCorpus.load", "validation fraction must be in [0, 1), got \(validationFraction)")
        }
        let files = try textFiles(under: path)
        var training: [UInt8] = []
        var validation: [UInt8] = []
        for file in files {
            let bytes = try readFileBytes(file)
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw FileError(file, "not valid UTF-8 text")
            }
            let split = bytes.count - Int((Double(bytes.count) * validationFraction).rounded())
            training += bytes[..<split]
            validation += bytes[split...]
        }
        guard !training.isEmpty else { throw FileError(path, "the corpus is empty (no text bytes in \(files.count) files)") }
        return TextCorpus(files: files, training: training, validation: validation, heldOutFiles: [])
    }

    /// The regular files at or under `path`, sorted, without `.dat` files or repeated targets.
    static func textFiles(under path: String) throws -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileError(path, "no such file or folder")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let relative = manager.enumerator(atPath: path)?.compactMap({ $0 as? String }) else {
            throw FileError(path, "cannot list the folder")
        }
        var seen = Set<String>()
        var files: [String] = []
        for name in relative.sorted() where !name.hasSuffix(".dat") {
            let full = "\(path)/\(name)"
            let resolved = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
            var targetIsDirectory: ObjCBool = false
            guard manager.fileExists(atPath: resolved, isDirectory: &targetIsDirectory), !targetIsDirectory.boolValue,
                  seen.insert(resolved).inserted else { continue }
            files.append(full)
        }
        guard !files.isEmpty else { throw FileError(path, "the folder holds no text files") }
        return files
    }
}
