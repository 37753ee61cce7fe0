import Butterfly
import Foundation
import Models
import PixelflyCore
import Testing

/// `pixelfly-bench export` checked end to end against an outside implementation: each tiny
/// model is trained a few steps, exported, and `scripts/reference-forward.py` (numpy, float64)
/// rebuilds its forward pass from the file alone; its logits must match the Swift forward to
/// 1e-4. Covers every linear kind (dense, low-rank, Pixelfly sum and gated, butterfly as its
/// dense-equivalent), class-token and mean pooling, dense and flat butterfly attention scores,
/// both Mixer token-mixing paths, tied and untied GPT heads, and `--dense` exports.
@Suite("Export: PyTorch-convention safetensors against the numpy reference forward",
       .enabled(if: PythonReference.available, "python3 with numpy is not installed; the reference forward cannot run"))
struct ExportReferenceTests {
    static let pixelfly = LinearKind.pixelfly(PixelflySettings(
        mask: FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 4), rank: 2))
    static let gated = LinearKind.pixelfly(PixelflySettings(
        mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 4, shuffleSeed: 3), rank: 2, combination: .gated))

    static var variants: [(String, ModelConfiguration)] {
        var vit = VisionTransformerConfiguration.tiny
        vit.linear = pixelfly
        var vitMean = VisionTransformerConfiguration.tiny
        (vitMean.pooling, vitMean.linear, vitMean.attentionScores) = (.mean, .lowRank(rank: 4), .flatButterfly(blockSize: 4, factors: 1))
        var mixer = MLPMixerConfiguration.tiny
        mixer.channelMixingLinear = gated
        var mixerTransposed = MLPMixerConfiguration.tiny
        (mixerTransposed.tokenMixingLinear, mixerTransposed.channelMixingLinear) = (.lowRank(rank: 4), .butterfly)
        var gpt = GPTConfiguration.tiny
        (gpt.linear, gpt.attentionScores) = (pixelfly, .flatButterfly(blockSize: 4, factors: 2))
        var gptHead = GPTConfiguration.tiny
        (gptHead.tiedHead, gptHead.headLinear, gptHead.linear) = (false, .lowRank(rank: 8), gated)
        return [("vit pixelfly", .vit(vit)), ("vit mean low-rank butterfly-scores", .vit(vitMean)),
                ("mixer gated", .mixer(mixer)), ("mixer transposed butterfly", .mixer(mixerTransposed)),
                ("gpt pixelfly butterfly-scores", .gpt(gpt)), ("gpt untied gated", .gpt(gptHead))]
    }

    @Test(arguments: 0..<6)
    func exportMatchesReferenceForward(_ index: Int) throws {
        let (name, model) = Self.variants[index]
        let directory = try TemporaryDirectory("export-\(index)")
        defer { directory.remove() }
        let checkpointPath = directory.file("train.safetensors")
        let trainer = try TrainedTinyModel.write(model, to: checkpointPath)
        let (inputs, _) = TrainedTinyModel.batch(for: model, seed: 99)
        var logits = Matrix<Float>(rows: 0, cols: 0)
        try trainer.model.forward(inputs, into: &logits)

        let gatedLayers = name.contains("gated")
        for dense in gatedLayers ? [false] : [false, true] {
            let exportPath = directory.file(dense ? "dense.safetensors" : "export.safetensors")
            let export = try ModelExport.export(checkpoint: checkpointPath, to: exportPath, dense: dense)
            #expect(export.metadata["model"] == model.name)
            #expect(!export.tensors.contains { $0.name.hasPrefix("optimizer.") })
            let reference = try PythonReference.logits(export: exportPath, inputs: inputs, directory: directory)
            let error = compare(logits, reference)
            #expect(error.maxAbs <= 1e-4, "\(name)\(dense ? " --dense" : ""): \(error)")
        }
    }

    /// Shapes follow PyTorch: weights (out, in), 1-D biases and norms, blocks (n, b, b) with
    /// int64 (n, 2) coordinates inside the layout, low-rank as (r, in) and (out, r).
    @Test func tensorShapesFollowPyTorch() throws {
        let directory = try TemporaryDirectory("export-shapes")
        defer { directory.remove() }
        var vit = VisionTransformerConfiguration.tiny
        vit.linear = Self.pixelfly
        try TrainedTinyModel.write(.vit(vit), to: directory.file("train.safetensors"), steps: 1)
        let export = try ModelExport.export(checkpoint: directory.file("train.safetensors"), to: directory.file("out.safetensors"))
        let shapes = Dictionary(uniqueKeysWithValues: export.tensors.map { ($0.name, $0.shape) })
        #expect(shapes["patch_embedding.weight"] == [16, 49])
        #expect(shapes["patch_embedding.bias"] == [16])
        #expect(shapes["blocks.0.mlp.norm.weight"] == [16])
        #expect(shapes["blocks.0.mlp.fc1.lowrank.v.weight"] == [2, 16])
        #expect(shapes["blocks.0.mlp.fc1.lowrank.u.weight"] == [32, 2])
        #expect(shapes["blocks.0.mlp.fc1.sparse.weight"] == [24, 4, 4])
        let index = try #require(export["blocks.0.mlp.fc1.sparse.block_index"])
        #expect(index.dtype == .i64 && index.shape == [24, 2])
        let layers = try JSONDecoder().decode([String: ExportedLayer].self, from: Data(export.metadata["layers"]!.utf8))
        let fc1 = try #require(layers["blocks.0.mlp.fc1"])
        #expect(fc1.kind == "pixelfly" && fc1.blockSize == 4 && fc1.blockCount == 24 && fc1.rank == 2)
        #expect(fc1.mask == FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 4))
        #expect(export.metadata["configuration"]?.contains("\"imageSize\":28") == true)
    }
}
