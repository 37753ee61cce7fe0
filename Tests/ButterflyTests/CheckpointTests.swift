import Foundation
import PixelflyData
import PixelflyCore
import Testing

@Suite("Safetensors checkpoints")
struct CheckpointTests {
    /// Values whose bits a lossy path would change: signed zero, subnormals, infinities, NaN
    /// payloads, extremes, and random normals.
    static func awkwardValues<S: TensorScalar>(_: S.Type, count: Int, seed: UInt64) -> [S] {
        var rng = SeededRandom(seed: seed)
        let special: [S] = [0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .infinity, -.infinity,
                            .nan, -.nan, .greatestFiniteMagnitude, S(1) / 3]
        return special + (special.count..<count).map { _ in S(rng.normal()) }
    }

    func bits<S: TensorScalar>(_ values: [S]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    @Test func roundTripIsBitwiseExactForFloatAndDouble() throws {
        let folder = try TemporaryDirectory("checkpoint-round-trip")
        defer { folder.remove() }
        let floats = Self.awkwardValues(Float.self, count: 35, seed: 1)
        let doubles = Self.awkwardValues(Double.self, count: 24, seed: 2)
        let matrix = try Matrix<Float>(rows: 5, cols: 7, storage: floats)
        let metadata = ["step": "1200", "seed": "42", "config": "{\"model\": \"vit\", \"note\": \"tab\\t, quote \\\" and ü → ✓\"}\n"]
        let original = Checkpoint(tensors: [
            try CheckpointTensor(name: "blocks.0.mlp.fc1.weight", matrix: matrix),
            try CheckpointTensor(name: "optimizer.m", shape: [2, 3, 4], values: doubles),
            try CheckpointTensor(name: "scalar", shape: [], values: [Double.pi]),
            try CheckpointTensor(name: "empty", shape: [0, 3], values: [Float]()),
        ], metadata: metadata)
        let path = folder.file("model.safetensors")
        try original.write(to: path)
        let restored = try Checkpoint.read(from: path)
        #expect(restored.metadata == metadata)
        #expect(restored.tensors.map(\.name) == original.tensors.map(\.name))
        #expect(restored.tensors == original.tensors)
        #expect(bits(try restored["blocks.0.mlp.fc1.weight"]!.values(as: Float.self)) == bits(floats))
        #expect(bits(try restored["optimizer.m"]!.values(as: Double.self)) == bits(doubles))
        #expect(try restored["blocks.0.mlp.fc1.weight"]!.matrix(as: Float.self).shape == (5, 7))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"],
                "the atomic write left a temporary file behind")
    }

    /// The layout PyTorch's safetensors reader expects, checked with Foundation's JSON parser as
    /// an independent reader: 8-byte little-endian length, a JSON object, aligned data region.
    @Test func layoutMatchesTheSafetensorsSpecification() throws {
        let weights = (0..<6).map { Float($0) + 0.5 }
        let checkpoint = Checkpoint(tensors: [
            try CheckpointTensor(name: "w", shape: [2, 3], values: weights),
            try CheckpointTensor(name: "b", shape: [3], values: [1.0, 2.0, 3.0]),
        ], metadata: ["step": "7"])
        let file = try checkpoint.serialized()
        let headerLength = file[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
        #expect(file.count == 8 + headerLength + 24 + 24)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(file[8..<(8 + headerLength)])) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == ["step": "7"])
        let w = try #require(header["w"] as? [String: Any])
        #expect(w["dtype"] as? String == "F32" && w["shape"] as? [Int] == [2, 3] && w["data_offsets"] as? [Int] == [0, 24])
        let b = try #require(header["b"] as? [String: Any])
        #expect(b["dtype"] as? String == "F64" && b["shape"] as? [Int] == [3] && b["data_offsets"] as? [Int] == [24, 48])
        let data = Array(file[(8 + headerLength)...])
        // Little-endian IEEE 754: 0.5 as F32 is 00 00 00 3f, 1.0 as F64 is 00 … f0 3f.
        #expect(Array(data[0..<4]) == [0, 0, 0, 0x3f])
        #expect(Array(data[24..<32]) == [0, 0, 0, 0, 0, 0, 0xf0, 0x3f])
    }

    /// A file written by the reference implementation (Python `safetensors` 0.8.0,
    /// `safetensors.numpy.save_file`) with tensors `b` = [1.5, −2.25, π] (F64), `w` = arange(12)/7
    /// as float32 of shape [3, 4], and an empty `z` of shape [0, 3].
    static let pythonWritten = "4AAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJzdGVwIjoiNSIsImNmZyI6IntcImFcIjogXCLDvFwifSJ9LCJiIjp7ImR0eXBlIjoiRjY0Iiwic2hhcGUiOlszXSwiZGF0YV9vZmZzZXRzIjpbMCwyNF19LCJ3Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlszLDRdLCJkYXRhX29mZnNldHMiOlsyNCw3Ml19LCJ6Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlswLDNdLCJkYXRhX29mZnNldHMiOls3Miw3Ml19fSAgIAAAAAAAAPg/AAAAAAAAAsAYLURU+yEJQAAAAAAlSRI+JUmSPrdt2z4lSRI/bts2P7dtWz8AAIA/JUmSP0mSpD9u27Y/kiTJPw=="

    @Test func readsAFileWrittenByPythonSafetensors() throws {
        let bytes = try #require(Data(base64Encoded: Self.pythonWritten)).map { $0 }
        let checkpoint = try Checkpoint.parse(bytes, path: "python.safetensors")
        #expect(checkpoint.metadata == ["step": "5", "cfg": "{\"a\": \"ü\"}"])
        #expect(checkpoint.tensors.map(\.name) == ["b", "w", "z"])
        #expect(try checkpoint["b"]!.values(as: Double.self) == [1.5, -2.25, Double.pi])
        #expect(try checkpoint["w"]!.matrix(as: Float.self) == Matrix(rows: 3, cols: 4, storage: (0..<12).map { Float($0) / 7 }))
        #expect(checkpoint["z"]!.shape == [0, 3] && checkpoint["z"]!.elementCount == 0)
    }

    @Test func parametersSaveAndRestoreByName() throws {
        let folder = try TemporaryDirectory("checkpoint-parameters")
        defer { folder.remove() }
        var rng = SeededRandom(seed: 9)
        func model() -> [Parameter<Double>] {
            [Parameter(name: "fc.weight", value: Matrix(rows: 4, cols: 3, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), weightDecay: true),
             Parameter(name: "fc.bias", value: Matrix(rows: 1, cols: 4, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), weightDecay: false)]
        }
        let saved = model()
        let moment = try CheckpointTensor(name: "adam.m.fc.weight", matrix: Matrix<Double>(rows: 4, cols: 3, repeating: 0.25))
        let path = folder.file("params.safetensors")
        try Checkpoint.save(saved, extraTensors: [moment], metadata: ["step": "3"], to: path)
        let fresh = model()
        #expect(fresh[0].value != saved[0].value)
        let checkpoint = try Checkpoint.load(fresh, from: path)
        #expect(fresh.map(\.value) == saved.map(\.value))
        #expect(checkpoint.metadata["step"] == "3" && checkpoint["adam.m.fc.weight"] == moment)
        #expect(try checkpoint.matrix(named: "adam.m.fc.weight", rows: 4, cols: 3, as: Double.self) == Matrix(rows: 4, cols: 3, repeating: 0.25))
        #expect(thrownMessage { _ = try checkpoint.matrix(named: "adam.m.fc.weight", rows: 3, cols: 4, as: Double.self) }?
            .contains("has shape [4, 3]; the model expects [3, 4]") == true)
    }

    @Test func restoreRefusesMismatchesAndLeavesParametersUnchanged() throws {
        let checkpoint = Checkpoint(tensors: [
            try CheckpointTensor(name: "a", matrix: Matrix<Float>(rows: 2, cols: 2, repeating: 1)),
            try CheckpointTensor(name: "b", matrix: Matrix<Float>(rows: 2, cols: 3, repeating: 1)),
        ])
        let a = Parameter(name: "a", value: Matrix<Float>(rows: 2, cols: 2), weightDecay: true)
        let wrongShape = Parameter(name: "b", value: Matrix<Float>(rows: 3, cols: 2), weightDecay: true)
        let missing = Parameter(name: "c", value: Matrix<Float>(rows: 1, cols: 1), weightDecay: true)
        let shapeMessage = thrownMessage { try checkpoint.restore([a, wrongShape], source: "ckpt.safetensors") }
        #expect(shapeMessage == "ckpt.safetensors: tensor \"b\" has shape [2, 3]; the model expects [3, 2]")
        #expect(a.value == Matrix(rows: 2, cols: 2), "a failed restore changed a parameter")
        #expect(thrownMessage { try checkpoint.restore([missing]) }?.contains("no tensor named \"c\"") == true)
        let double = Parameter(name: "a", value: Matrix<Double>(rows: 2, cols: 2), weightDecay: true)
        #expect(thrownMessage { try checkpoint.restore([double]) }?.contains("holds F32; the model needs F64") == true)
    }

    @Test func integerMetadataIsCheckedWhenRead() throws {
        let checkpoint = Checkpoint(metadata: ["step": "1200", "seed": "x"])
        #expect(try checkpoint.integerMetadata("step") == 1200)
        #expect(thrownMessage { _ = try checkpoint.integerMetadata("seed", source: "c.st") } == "c.st: metadata entry \"seed\" is \"x\", not an integer")
        #expect(thrownMessage { _ = try checkpoint.integerMetadata("epoch") }?.contains("no metadata entry \"epoch\"") == true)
    }

    @Test func writingRefusesDuplicateAndReservedNames() throws {
        let t = try CheckpointTensor(name: "x", shape: [1], values: [Float(1)])
        #expect(thrownMessage { _ = try Checkpoint(tensors: [t, t]).serialized() }?.contains("two tensors are named \"x\"") == true)
        #expect(thrownMessage { _ = try CheckpointTensor(name: "__metadata__", shape: [1], values: [Float(1)]) } != nil)
        #expect(thrownMessage { _ = try CheckpointTensor(name: "y", shape: [2, 2], values: [Float(1)]) }?.contains("needs 16 bytes") == true)
        #expect(thrownMessage { _ = try CheckpointTensor(name: "z", shape: [1 << 62, 2], values: [Float(1)]) }?.contains("overflows") == true)
    }
}
