import PixelflyCore

extension Checkpoint {
    /// Parses and validates the bytes of a safetensors file; `path` is named in every error.
    ///
    /// Checks, each a `FileError` on failure:
    /// - the file holds the 8-byte header length `n`, with `n ≤ maximumHeaderBytes` and
    ///   `n ≤ file size − 8`;
    /// - the header is valid JSON (strict: no duplicate keys, so no duplicate tensor names) and
    ///   an object; `"__metadata__"`, if present, maps strings to strings;
    /// - every tensor entry has exactly `dtype`, `shape` and `data_offsets`; the dtype is F32 or
    ///   F64; the shape is a list of non-negative integers; the offsets are `[begin, end]` with
    ///   `begin ≤ end ≤` data size and `end − begin = ∏ shape · dtype size`;
    /// - sorted by offset, the spans neither overlap nor leave gaps and cover the data region
    ///   exactly (no bytes outside any tensor).
    public static func parse(_ file: [UInt8], path: String) throws -> Checkpoint {
        func fail(_ message: String) -> FileError { FileError(path, message) }
        guard file.count >= 8 else {
            throw fail("truncated: \(file.count) bytes, shorter than the 8-byte header length")
        }
        let declared = file[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw fail("header length \(declared) exceeds the bound of \(maximumHeaderBytes) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= file.count - 8 else {
            throw fail("header length \(headerLength) runs past the end of the file (\(file.count - 8) bytes follow the length)")
        }
        let root: JSONValue
        do {
            root = try StrictJSONParser.parse(Array(file[8..<(8 + headerLength)]))
        } catch let error as JSONParseError {
            throw fail("header is not valid JSON: \(error)")
        }
        guard case let .object(members) = root else { throw fail("header is not a JSON object") }

        let dataStart = 8 + headerLength
        let dataSize = file.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: TensorDType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in members {
            if name == metadataKey {
                metadata = try parseMetadata(value, fail)
                continue
            }
            let entry = try parseEntry(name, value, fail)
            guard entry.end <= dataSize else {
                throw fail("tensor \(JSONValue.quoted(name)): data_offsets [\(entry.begin), \(entry.end)] run past the data region of \(dataSize) bytes")
            }
            entries.append((name, entry.dtype, entry.shape, entry.begin, entry.end))
        }

        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: String?
        for entry in entries {
            if entry.begin < covered {
                throw fail("tensors \(JSONValue.quoted(previous ?? "")) and \(JSONValue.quoted(entry.name)) overlap (bytes \(entry.begin)..<\(covered))")
            }
            if entry.begin > covered {
                throw fail("gap of \(entry.begin - covered) unused bytes in the data region before tensor \(JSONValue.quoted(entry.name))")
            }
            covered = entry.end
            previous = entry.name
        }
        guard covered == dataSize else {
            throw fail("\(dataSize - covered) unused bytes at the end of the data region (tensors cover \(covered) of \(dataSize))")
        }
        let tensors = try entries.map { entry in
            try CheckpointTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                                 bytes: Array(file[(dataStart + entry.begin)..<(dataStart + entry.end)]))
        }
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue, _ fail: (String) -> FileError) throws -> [String: String] {
        guard case let .object(members) = value else { throw fail("\"\(metadataKey)\" is not an object of strings") }
        var metadata: [String: String] = [:]
        for (key, item) in members {
            guard case let .string(text) = item else {
                throw fail("\"\(metadataKey)\" entry \(JSONValue.quoted(key)) is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, _ fail: (String) -> FileError) throws
        -> (dtype: TensorDType, shape: [Int], begin: Int, end: Int) {
        let label = "tensor \(JSONValue.quoted(name))"
        guard !name.isEmpty else { throw fail("a tensor has an empty name") }
        guard case let .object(fields) = value else { throw fail("\(label): entry is not an object") }
        let known: Set = ["dtype", "shape", "data_offsets"]
        if let unknown = fields.first(where: { !known.contains($0.0) }) {
            throw fail("\(label): unknown field \(JSONValue.quoted(unknown.0)) (expected dtype, shape, data_offsets)")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.0 == key }) else { throw fail("\(label): missing \"\(key)\"") }
            return found.1
        }
        guard case let .string(dtypeName) = try field("dtype") else { throw fail("\(label): dtype is not a string") }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            let supported = TensorDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("\(label): unsupported dtype \(JSONValue.quoted(dtypeName)) (supported: \(supported))")
        }
        guard case let .array(sizes) = try field("shape"), let shape = integers(sizes) else {
            throw fail("\(label): shape is not a list of non-negative integers")
        }
        guard case let .array(offsets) = try field("data_offsets"), let span = integers(offsets), span.count == 2 else {
            throw fail("\(label): data_offsets is not a pair of non-negative integers")
        }
        guard span[0] <= span[1] else { throw fail("\(label): data_offsets [\(span[0]), \(span[1])] end before they begin") }
        guard let elements = CheckpointTensor.elementCount(shape),
              !elements.multipliedReportingOverflow(by: dtype.byteCount).overflow else {
            throw fail("\(label): shape \(shape) overflows the addressable size")
        }
        guard elements * dtype.byteCount == span[1] - span[0] else {
            throw fail("\(label): shape \(shape) of \(dtype.rawValue) needs \(elements * dtype.byteCount) bytes but data_offsets [\(span[0]), \(span[1])] span \(span[1] - span[0])")
        }
        return (dtype, shape, span[0], span[1])
    }

    private static func integers(_ values: [JSONValue]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard let integer = value.nonNegativeInteger else { return nil }
            result.append(integer)
        }
        return result
    }
}
