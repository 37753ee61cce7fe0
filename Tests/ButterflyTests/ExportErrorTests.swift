import Foundation
import PixelflyModels
import PixelflyData
import PixelflyTraining
import PixelflyCore
import Testing

/// Bad input to `export`: a named error, and nothing written (an existing output file is left
/// as it was).
@Suite("Export: damaged, mismatched and unknown checkpoints")
struct ExportErrorTests {
    /// Exports `checkpoint` to a file that already holds a marker; returns the error message
    /// and checks the marker survived.
    static func failingExport(_ directory: TemporaryDirectory, _ checkpoint: String, dense: Bool = false) throws -> String? {
        let output = try directory.write("out.safetensors", Array("marker".utf8))
        let message = thrownMessage { try ModelExport.export(checkpoint: checkpoint, to: output, dense: dense) }
        #expect(try readFileBytes(output) == Array("marker".utf8), "the output file was touched")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        return message
    }

    static func rewriteConfiguration(_ path: String, _ change: (String) -> String) throws {
        var checkpoint = try Checkpoint.read(from: path)
        checkpoint.metadata["configuration"] = change(checkpoint.metadata["configuration"]!)
        try checkpoint.write(to: path)
    }

    @Test func corruptCheckpoint() throws {
        let directory = try TemporaryDirectory("export-corrupt")
        defer { directory.remove() }
        let path = directory.file("train.safetensors")
        try TrainedTinyModel.write(.mixer(.tiny), to: path, steps: 1)
        let bytes = try readFileBytes(path)
        _ = try directory.write("train.safetensors", Array(bytes.dropLast(10)))
        let message = try Self.failingExport(directory, path)
        #expect(message?.contains("run past the data region") == true, "\(message ?? "no error")")
    }

    @Test func mismatchedCheckpoint() throws {
        let directory = try TemporaryDirectory("export-mismatch")
        defer { directory.remove() }
        let path = directory.file("train.safetensors")
        try TrainedTinyModel.write(.mixer(.tiny), to: path, steps: 1)
        try Self.rewriteConfiguration(path) { $0.replacingOccurrences(of: "\"width\":16", with: "\"width\":32") }
        let message = try Self.failingExport(directory, path)
        #expect(message?.contains("do not match the model its configuration describes") == true, "\(message ?? "no error")")
        #expect(message?.contains("patch_embedding.weight") == true, "\(message ?? "no error")")
    }

    @Test func unknownModelKind() throws {
        let directory = try TemporaryDirectory("export-unknown")
        defer { directory.remove() }
        let path = directory.file("train.safetensors")
        try TrainedTinyModel.write(.mixer(.tiny), to: path, steps: 1)
        try Self.rewriteConfiguration(path) { $0.replacingOccurrences(of: "\"mixer\":", with: "\"resnet\":") }
        let message = try Self.failingExport(directory, path)
        #expect(message?.contains("unknown model kind \"resnet\"; this version knows vit, mixer, gpt") == true, "\(message ?? "no error")")
    }

    @Test func notATrainingCheckpoint() throws {
        let directory = try TemporaryDirectory("export-plain")
        defer { directory.remove() }
        let path = directory.file("plain.safetensors")
        try Checkpoint(tensors: [CheckpointTensor(name: "a", shape: [2], values: [Float(1), 2])]).write(to: path)
        let message = try Self.failingExport(directory, path)
        #expect(message?.contains("not a pixelfly-bench training checkpoint") == true, "\(message ?? "no error")")
    }

    @Test func denseExportOfGatedPixelflyIsRefused() throws {
        let directory = try TemporaryDirectory("export-gated")
        defer { directory.remove() }
        let path = directory.file("train.safetensors")
        var mixer = MLPMixerConfiguration.tiny
        mixer.channelMixingLinear = ExportReferenceTests.gated
        try TrainedTinyModel.write(.mixer(mixer), to: path, steps: 1)
        let message = try Self.failingExport(directory, path, dense: true)
        #expect(message?.contains("gated Pixelfly linear is not linear") == true, "\(message ?? "no error")")
    }
}
