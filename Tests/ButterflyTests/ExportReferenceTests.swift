import Butterfly
import Foundation
import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// `pixelfly-bench export` checked end to end against an outside implementation: each tiny
/// model is trained a few steps, exported, and `scripts/reference-forward.py` (numpy, float64)
/// rebuilds its forward pass from the file alone; its logits must match the Swift forward to
/// 1e-4. Covers every linear kind (dense, dense-blocks, low-rank, block-sparse, Pixelfly sum and gated,
/// Monarch square and padded with either middle width, butterfly as its dense-equivalent), class-token and mean pooling, dense and flat butterfly attention scores,
/// both Mixer token-mixing paths, tied and untied GPT heads, and `--dense` exports.
@Suite("Export: PyTorch-convention safetensors against the numpy reference forward",
       .enabled(if: PythonReference.available, "python3 with numpy is not installed; the reference forward cannot run"))
struct ExportReferenceTests {
    static let pixelfly = LinearKind.pixelfly(PixelflySettings(
        mask: FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 4), rank: 2))
    static let gated = LinearKind.pixelfly(PixelflySettings(
        mask: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 4, shuffleSeed: 3), rank: 2, combination: .gated))
    static let blockSparse = LinearKind.blockSparse(FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 4))

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
        // Monarch with 3 blocks pads every block layer (16→16: 18×18; 16→32: q = p; 32→16:
        // q = s); the 49→16 embedding with 4 blocks pads the input to 52.
        var vitMonarch = VisionTransformerConfiguration.tiny
        (vitMonarch.linear, vitMonarch.embeddingLinear) = (.monarch(nblocks: 3), .monarch(nblocks: 4))
        var mixerMonarch = MLPMixerConfiguration.tiny
        (mixerMonarch.tokenMixingLinear, mixerMonarch.channelMixingLinear) = (.monarch(nblocks: 4), blockSparse)
        // 16→256 head with 5 blocks: input padded to 20, output truncated from 260.
        var gptMonarch = GPTConfiguration.tiny
        (gptMonarch.tiedHead, gptMonarch.headLinear, gptMonarch.linear) = (false, .monarch(nblocks: 5), blockSparse)
        // Dense on the block-sparse kernels (every 8×8 block of 16 → 32 and 32 → 16 kept).
        var mixerDenseBlocks = MLPMixerConfiguration.tiny
        mixerDenseBlocks.channelMixingLinear = .denseBlocks(blockSize: 8)
        return [("vit pixelfly", .vit(vit)), ("vit mean low-rank butterfly-scores", .vit(vitMean)),
                ("mixer gated", .mixer(mixer)), ("mixer transposed butterfly", .mixer(mixerTransposed)),
                ("gpt pixelfly butterfly-scores", .gpt(gpt)), ("gpt untied gated", .gpt(gptHead)),
                ("vit monarch padded", .vit(vitMonarch)), ("mixer monarch block-sparse", .mixer(mixerMonarch)),
                ("gpt block-sparse monarch head", .gpt(gptMonarch)), ("mixer dense-blocks", .mixer(mixerDenseBlocks))]
    }

    @Test(arguments: 0..<10)
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

    /// Monarch as the reference `MonarchLinear`: `blkdiag1` (k, q, p), `blkdiag2` (l, s, r),
    /// 1-D bias, and nblocks plus the padded sizes in the layer's metadata entry; the 3-D
    /// tensors are the layer's factors element for element.
    @Test func monarchTensorsFollowTheReferenceLayout() throws {
        let directory = try TemporaryDirectory("export-monarch")
        defer { directory.remove() }
        var vit = VisionTransformerConfiguration.tiny
        (vit.linear, vit.embeddingLinear) = (.monarch(nblocks: 3), .monarch(nblocks: 4))
        let trainer = try TrainedTinyModel.write(.vit(vit), to: directory.file("train.safetensors"), steps: 1)
        let export = try ModelExport.export(checkpoint: directory.file("train.safetensors"), to: directory.file("out.safetensors"))
        let shapes = Dictionary(uniqueKeysWithValues: export.tensors.map { ($0.name, $0.shape) })
        #expect(shapes["patch_embedding.blkdiag1"] == [4, 4, 13])   // 49 → 16: p = 13, s = 4, q = s
        #expect(shapes["patch_embedding.blkdiag2"] == [4, 4, 4])
        #expect(shapes["patch_embedding.bias"] == [16])
        #expect(shapes["blocks.0.mlp.fc1.blkdiag1"] == [3, 6, 6])   // 16 → 32: p = 6, s = 11, q = p
        #expect(shapes["blocks.0.mlp.fc1.blkdiag2"] == [3, 11, 6])
        #expect(shapes["blocks.0.mlp.fc2.blkdiag1"] == [3, 6, 11])  // 32 → 16: p = 11, s = 6, q = s
        #expect(shapes["blocks.0.mlp.fc2.blkdiag2"] == [3, 6, 6])
        let layers = try JSONDecoder().decode([String: ExportedLayer].self, from: Data(export.metadata["layers"]!.utf8))
        let fc1 = try #require(layers["blocks.0.mlp.fc1"])
        #expect(fc1.kind == "monarch" && fc1.source == "MonarchLinear" && fc1.nblocks == 3)
        #expect(fc1.inFeaturesExtended == 18 && fc1.outFeaturesExtended == 33 && fc1.bias)
        let second = try #require(trainer.parameters.first { $0.name == "blocks.0.mlp.fc1.blkdiag2" })
        #expect(try #require(export["blocks.0.mlp.fc1.blkdiag2"]).values(as: Float.self) == second.value.storage)
    }
}
