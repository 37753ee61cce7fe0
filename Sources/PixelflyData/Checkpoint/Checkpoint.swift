import PixelflyCore

/// Named tensors and string metadata, stored in the safetensors format (readable by PyTorch
/// through `safetensors.torch.load_file`).
///
/// File layout: an 8-byte little-endian header length `n`; `n` bytes of UTF-8 JSON mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the
/// data region) plus an optional `"__metadata__"` object of strings; then the data region, the
/// tensors' little-endian bytes back to back. The header is padded with spaces to a multiple
/// of 8 bytes so that the data region is 8-byte aligned. See `parse(_:path:)` for the checks
/// applied on reading.
public struct Checkpoint: Sendable {
    public static let metadataKey = "__metadata__"
    /// Headers longer than this are refused before any allocation (safetensors uses the same bound).
    public static let maximumHeaderBytes = 100_000_000

    /// The tensors in data-region order.
    public var tensors: [CheckpointTensor]
    /// Free-form strings: step, seed, configuration JSON, …
    public var metadata: [String: String]

    public init(tensors: [CheckpointTensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> CheckpointTensor? {
        tensors.first { $0.name == name }
    }

    /// The metadata entry `key` as an integer (step, seed, …); throws naming `source` if it is
    /// missing or not an integer.
    public func integerMetadata(_ key: String, source: String = "checkpoint") throws -> Int {
        guard let text = metadata[key] else { throw FileError(source, "no metadata entry \(JSONValue.quoted(key))") }
        guard let value = Int(text) else {
            throw FileError(source, "metadata entry \(JSONValue.quoted(key)) is \(JSONValue.quoted(text)), not an integer")
        }
        return value
    }

    /// The file contents; throws if two tensors share a name.
    public func serialized() throws -> [UInt8] {
        var seen = Set<String>()
        for tensor in tensors where !seen.insert(tensor.name).inserted {
            throw ConfigurationError("Checkpoint.serialized", "two tensors are named \(JSONValue.quoted(tensor.name))")
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let members = metadata.sorted { $0.key < $1.key }
                .map { "\(JSONValue.quoted($0.key)):\(JSONValue.quoted($0.value))" }
            entries.append("\(JSONValue.quoted(Self.metadataKey)):{\(members.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(JSONValue.quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        var file: [UInt8] = []
        file.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file += $0 }
        file += header
        for tensor in tensors { file += tensor.bytes }
        return file
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        try writeFileAtomically(path, serialized())
    }

    /// Reads and fully validates the checkpoint at `path`.
    public static func read(from path: String) throws -> Checkpoint {
        try parse(readFileBytes(path), path: path)
    }
}
