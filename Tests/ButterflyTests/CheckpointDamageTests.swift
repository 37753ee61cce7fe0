import Foundation
import PixelflyData
import PixelflyCore
import Testing

/// Damaged safetensors files: each must throw a `FileError` naming the file and the problem.
@Suite("Safetensors damaged files")
struct CheckpointDamageTests {
    struct Variant: CustomStringConvertible {
        let name: String
        let bytes: [UInt8]
        let phrase: String
        var description: String { name }
    }

    /// A file with the given header text (length field computed from it) and data bytes.
    static func file(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        let length = declaredLength ?? UInt64(headerBytes.count)
        return withUnsafeBytes(of: length.littleEndian) { Array($0) } + headerBytes + data
    }

    static func entry(_ name: String, _ dtype: String = "F32", _ shape: String, _ offsets: String) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offsets)]}"
    }

    static var variants: [Variant] {
        let data = [UInt8](repeating: 7, count: 32)
        let good = file(header: "{\(entry("a", "F32", "2,2", "0,16")),\(entry("b", "F64", "2", "16,32"))}", data: data)
        func damaged(_ name: String, _ header: String, _ phrase: String, data bytes: [UInt8] = data) -> Variant {
            Variant(name: name, bytes: file(header: header, data: bytes), phrase: phrase)
        }
        return [
            Variant(name: "empty file", bytes: [], phrase: "truncated: 0 bytes"),
            Variant(name: "length field cut short", bytes: Array(good.prefix(5)), phrase: "shorter than the 8-byte header length"),
            Variant(name: "header cut short", bytes: Array(good.prefix(20)), phrase: "runs past the end of the file"),
            Variant(name: "data cut short", bytes: Array(good.dropLast(4)), phrase: "run past the data region of 28 bytes"),
            Variant(name: "header length over the bound", bytes: file(header: "{}", data: [], declaredLength: 1 << 40),
                    phrase: "exceeds the bound"),
            Variant(name: "header length beyond the file", bytes: file(header: "{}", data: [], declaredLength: 3),
                    phrase: "runs past the end of the file"),
            damaged("invalid JSON", "{\"a\":{\"dtype\":\"F32\",", "header is not valid JSON"),
            damaged("header not an object", "[1,2]", "not a JSON object"),
            damaged("unknown dtype", "{\(entry("a", "F16", "16", "0,32"))}", "unsupported dtype \"F16\" (supported: F32, F64, I64)"),
            damaged("shape × size ≠ span", "{\(entry("a", "F32", "3,2", "0,32"))}", "needs 24 bytes but data_offsets [0, 32] span 32"),
            damaged("overlapping spans", "{\(entry("a", "F32", "4", "0,16")),\(entry("b", "F32", "4", "8,24")),\(entry("c", "F32", "2", "24,32"))}",
                    "overlap"),
            damaged("offsets outside the file", "{\(entry("a", "F32", "4", "0,16")),\(entry("b", "F32", "8", "16,48"))}",
                    "run past the data region of 32 bytes"),
            damaged("duplicate tensor names", "{\(entry("a", "F32", "4", "0,16")),\(entry("a", "F32", "4", "16,32"))}",
                    "duplicate key \"a\""),
            damaged("gap between tensors", "{\(entry("a", "F32", "2", "0,8")),\(entry("b", "F32", "4", "16,32"))}",
                    "gap of 8 unused bytes"),
            damaged("unused bytes at the end", "{\(entry("a", "F32", "4", "0,16"))}", "16 unused bytes at the end"),
            damaged("negative size", "{\(entry("a", "F32", "-4", "0,16"))}", "shape is not a list of non-negative integers"),
            damaged("reversed offsets", "{\(entry("a", "F32", "0", "16,0"))}", "end before they begin"),
            damaged("offsets not a pair", "{\(entry("a", "F32", "4", "0,16,32"))}", "data_offsets is not a pair"),
            damaged("missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[8]}}", "missing \"data_offsets\""),
            damaged("unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32],\"x\":1}}", "unknown field \"x\""),
            damaged("metadata value not a string", "{\"__metadata__\":{\"step\":3},\(entry("a", "F32", "8", "0,32"))}",
                    "entry \"step\" is not a string"),
            damaged("shape overflows", "{\(entry("a", "F32", "4294967296,4294967296", "0,32"))}", "overflows"),
            damaged("nesting too deep", String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
                    "nested deeper than 64 levels"),
            damaged("unpaired surrogate escape", #"{"\ud83e":1}"#, "unpaired surrogate"),
            damaged("fractional size", "{\(entry("a", "F32", "8.0", "0,32"))}", "shape is not a list of non-negative integers"),
            damaged("control character in a name", "{\"a\u{0}b\":1}", "control character inside a string"),
            Variant(name: "invalid UTF-8 in a name", bytes: withUnsafeBytes(of: UInt64(9).littleEndian) { Array($0) }
                        + Array("{\"".utf8) + [0xff, 0xfe] + Array("\":{}}".utf8), phrase: "string is not valid UTF-8"),
        ]
    }

    @Test(arguments: variants)
    func damagedVariantThrowsNamingFileAndProblem(_ variant: Variant) throws {
        let folder = try TemporaryDirectory("checkpoint-damage")
        defer { folder.remove() }
        let path = try folder.write("damaged.safetensors", variant.bytes)
        let message = thrownMessage { _ = try Checkpoint.read(from: path) }
        #expect(message?.hasPrefix(path + ": ") == true && message?.contains(variant.phrase) == true,
                "\(variant): got \(message ?? "no error")")
    }

    @Test func undamagedHandWrittenFileParses() throws {
        // Escapes as another writer may produce them: \u00fc is ü, \ud83e\udd8b a surrogate pair for 🦋.
        let metadata = #"{"__metadata__" : { "note" : "\u00fc\ud83e\udd8b\n\/\"" } , "#
        let bytes = Self.file(header: metadata + "\(Self.entry("b", "F64", "2", "16,32")),\(Self.entry("a", "F32", "2,2", "0,16"))}   ",
                              data: [UInt8](repeating: 0, count: 32))
        let checkpoint = try Checkpoint.parse(bytes, path: "memory")
        #expect(checkpoint.metadata == ["note": "ü🦋\n/\""])
        #expect(checkpoint.tensors.map(\.name) == ["a", "b"], "tensors should come in data-region order")
        #expect(try checkpoint["b"]!.values(as: Double.self) == [0, 0])
    }

    @Test func missingFileThrowsNamingIt() {
        let message = thrownMessage { _ = try Checkpoint.read(from: "/nonexistent/model.safetensors") }
        #expect(message?.hasPrefix("/nonexistent/model.safetensors: cannot open") == true, "\(message ?? "no error")")
    }

    /// The tensors and metadata that Foundation's JSON parser reads from `file`'s header, with
    /// each tensor's bytes cut from the data region by its offsets — an independent reading
    /// of the format, or nil if Foundation rejects the header or it is not shaped as expected.
    static func foundationReading(_ file: [UInt8]) -> (tensors: [String: (dtype: String, shape: [Int], bytes: [UInt8])],
                                                      metadata: [String: String])? {
        guard file.count >= 8 else { return nil }
        let length = file[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length <= file.count - 8,
              let root = try? JSONSerialization.jsonObject(with: Data(file[8..<(8 + length)])) as? [String: Any] else { return nil }
        func integers(_ value: Any?) -> [Int]? { (value as? [Any])?.map { ($0 as? NSNumber)?.intValue ?? -1 } }
        var tensors: [String: (dtype: String, shape: [Int], bytes: [UInt8])] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in root {
            if name == Checkpoint.metadataKey {
                guard let strings = value as? [String: String] else { return nil }
                metadata = strings
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = integers(entry["shape"]), let offsets = integers(entry["data_offsets"]), offsets.count == 2,
                  0 <= offsets[0], offsets[0] <= offsets[1], 8 + length + offsets[1] <= file.count else { return nil }
            tensors[name] = (dtype, shape, Array(file[(8 + length + offsets[0])..<(8 + length + offsets[1])]))
        }
        return (tensors, metadata)
    }

    /// Seeded random byte flips in a small valid checkpoint, each outcome checked against what
    /// it must be: flips only in the data region load, with exactly the flipped bytes; a flip in
    /// the 8-byte length field is refused; whenever a file loads, Foundation's JSON parser reads
    /// the same tensors (name, dtype, shape, bytes at the offsets) and metadata from its header.
    @Test func randomByteFlipsGiveTheIndependentlyExpectedOutcome() throws {
        let original = try Checkpoint(tensors: [
            CheckpointTensor(name: "w", shape: [3, 4], values: (0..<12).map { Float($0) }),
            CheckpointTensor(name: "b", shape: [4], values: [1.0, -2.0, 3.0, 4.0]),
        ], metadata: ["step": "12", "seed": "7"]).serialized()
        let dataStart = 8 + original[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        var rng = SeededRandom(seed: 77)
        var outcomes = (dataOnly: 0, lengthField: 0, headerLoaded: 0, headerRefused: 0)
        for _ in 0..<500 {
            var damaged = original
            var positions: [Int] = []
            for _ in 0...(rng.index(below: 3)) {
                let position = rng.index(below: damaged.count)
                damaged[position] ^= UInt8(1 + rng.index(below: 255))
                positions.append(position)
            }
            let changed = positions.filter { damaged[$0] != original[$0] }
            do {
                let checkpoint = try Checkpoint.parse(damaged, path: "flipped")
                let reading = try #require(Self.foundationReading(damaged), "loaded, but Foundation cannot read the header: flips at \(changed)")
                #expect(checkpoint.metadata == reading.metadata, "flips at \(changed)")
                #expect(checkpoint.tensors.count == reading.tensors.count, "flips at \(changed)")
                for tensor in checkpoint.tensors {
                    let expected = try #require(reading.tensors[tensor.name], "tensor \(tensor.name) unknown to Foundation")
                    #expect(tensor.dtype.rawValue == expected.dtype && tensor.shape == expected.shape && tensor.bytes == expected.bytes,
                            "tensor \(tensor.name), flips at \(changed)")
                }
                #expect(!changed.contains { $0 < 8 }, "a damaged length field was accepted: flips at \(changed)")
                if changed.allSatisfy({ $0 >= dataStart }) { outcomes.dataOnly += 1 } else { outcomes.headerLoaded += 1 }
            } catch let error as FileError {
                #expect(error.path == "flipped")
                #expect(!changed.allSatisfy { $0 >= dataStart }, "flips only in the data region (\(changed)) were refused: \(error)")
                if changed.contains(where: { $0 < 8 }) { outcomes.lengthField += 1 } else { outcomes.headerRefused += 1 }
            }
        }
        // Every kind of flip occurred (the seed decides how often).
        #expect(outcomes.dataOnly > 50 && outcomes.lengthField > 10 && outcomes.headerLoaded > 0 && outcomes.headerRefused > 100, "\(outcomes)")
    }
}
