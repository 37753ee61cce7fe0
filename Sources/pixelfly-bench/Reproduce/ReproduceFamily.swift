import Foundation
import PixelflyTraining

/// The shape of one model family's dense model: the `train` arguments that build it and the
/// matching `scripts/pytorch-baseline.py` arguments (the same model in PyTorch).
struct ModelShape: Codable {
    var model: String
    var width: Int
    var depth: Int
    /// MLP hidden width (the Mixer's channel-mixing MLP).
    var hidden: Int
    /// Attention heads (passed as `train --heads`; 0 for the Mixer, which has none).
    var heads: Int
    /// Patch size (ViT, Mixer) and the Mixer's token-mixing hidden width.
    var patchSize: Int?
    var tokenHidden: Int?
    /// The GPT's context of the small preset (64 bytes).
    var context: Int?
    var batchSize: Int

    var trainArguments: [String] {
        ["--model", model, "--width", "\(width)", "--depth", "\(depth)", "--hidden", "\(hidden)", "--batch-size", "\(batchSize)"]
            + (heads > 0 ? ["--heads", "\(heads)"] : [])
            + (patchSize.map { ["--patch-size", "\($0)"] } ?? []) + (tokenHidden.map { ["--token-hidden", "\($0)"] } ?? [])
    }

    var pytorchArguments: [String] {
        ["--model", model, "--width", "\(width)", "--depth", "\(depth)", "--hidden", "\(hidden)", "--heads", "\(heads)",
         "--batch", "\(batchSize)"]
            + (patchSize.map { ["--patch", "\($0)"] } ?? []) + (tokenHidden.map { ["--token-hidden", "\($0)"] } ?? [])
            + (context.map { ["--context", "\($0)"] } ?? [])
    }
}

/// How an arm's quality is read from its result, and the margin of "equal quality".
enum QualityMetric: String, Codable {
    /// Held-out cross-entropy in bits per byte (nats ÷ ln 2); lower is better. Equal quality:
    /// within 2 % of the dense mean.
    case heldOutBitsPerByte
    /// Top-1 test accuracy in percent; higher is better. Equal quality: within 0.5 points.
    case testAccuracyPercent

    func value(_ result: TrainingResult) -> Double {
        switch self {
        case .heldOutBitsPerByte: return result.finalTestLoss / log(2)
        case .testAccuracyPercent: return result.finalTestAccuracy * 100
        }
    }

    var label: String { self == .heldOutBitsPerByte ? "held-out bits/byte" : "test accuracy %" }
    var unit: String { self == .heldOutBitsPerByte ? "bits/byte" : "points" }
    var higherIsBetter: Bool { self == .testAccuracyPercent }

    /// The targets: loss within 2 % of dense; accuracy within 0.5 points.
    func margin(denseMean: Double) -> Double {
        self == .heldOutBitsPerByte ? 0.02 * denseMean : 0.5
    }

    var marginText: String { self == .heldOutBitsPerByte ? "±2 % of dense" : "±0.5 points" }
}

/// One arm: a name and the `train` arguments that select its linears (and score pattern).
struct ReproduceArm: Codable {
    var name: String
    var arguments: [String]

    /// The second dense arm of every family: the dense model with every block kept on the
    /// block-sparse kernels (`--linear dense-blocks`). Each seed's speed-ups divide by the faster
    /// of the two dense runs; quality is compared with arm 0 (`DenseLinear`).
    static let denseBlocksName = "dense-blocks"
    /// Every family's Pixelfly arm (the one PyTorch and the density sweep are set beside).
    static let pixelflyName = "Pixelfly"

    static func denseBlocks(blockSize: Int, extra: [String] = []) -> ReproduceArm {
        ReproduceArm(name: denseBlocksName, arguments: ["--linear", "dense-blocks", "--block-size", "\(blockSize)"] + extra)
    }
}

/// A model family compared over arms × seeds: arm 0 is dense, every arm sees the same data
/// (same seed ⇒ same initialisation stream and data order) and the same step count.
struct ReproduceFamily: Codable {
    var key: String
    var title: String
    var shape: ModelShape
    /// Training length and evaluation arguments (steps or epochs, limits, intervals, corpus split).
    var schedule: [String]
    var arms: [ReproduceArm]
    var metric: QualityMetric
    /// The step speed-up target for the sparse arms (GPT and ViT: 2.5×; none for the Mixer).
    var speedupTarget: Double? = nil

    func arguments(_ arm: ReproduceArm, seed: UInt64) -> [String] {
        shape.trainArguments + schedule + arm.arguments + ["--seed", "\(seed)"]
    }
}
