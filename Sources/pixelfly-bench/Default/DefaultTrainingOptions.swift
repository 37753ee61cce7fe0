import ArgumentParser
import Butterfly
import PixelflyModels

/// The model the default job trains and whose blocks it times.
struct DefaultTrainingOptions: ParsableArguments {
    @Option(help: "Mixer width C (channels).")
    var width: Int = 768

    @Option(help: "Hidden width of the channel-mixing MLP.")
    var hidden: Int = 3072

    @Option(help: "Hidden width of the token-mixing MLP (dense in both models; 2 × the 16 tokens, the ratio of Mixer-B/16).")
    var tokenHidden: Int = 32

    @Option(help: "Mixer blocks.")
    var depth: Int = 2

    @Option(help: "Patch size (7 → 16 tokens of a 28×28 image).")
    var patchSize: Int = 7

    @Option(help: "Mini-batch size.")
    var batchSize: Int = 64

    @Option(help: "Training epochs (default: 2, or 6 with --full).")
    var epochs: Int?

    @Option(help: "Use only the first N training images (default 12800 so that the job stays under 10 minutes; --full uses all 60000).")
    var trainLimit: Int?

    @Option(help: "Pixelfly butterfly size B.")
    var butterflySize: Int = 16

    @Option(help: "Pixelfly butterfly factors K.")
    var factors: Int = 2

    @Option(help: "Pixelfly block size b (768 = 16 tiles of 48 columns).")
    var blockSize: Int = 48

    @Option(help: "Rank of Pixelfly's low-rank term.")
    var rank: Int = 32

    @Option(help: "Seed of initialisation and data order (the same for both runs).")
    var seed: UInt64 = 0

    var pixelfly: LinearKind {
        .pixelfly(PixelflySettings(mask: FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize),
                                   rank: rank, combination: .sum))
    }

    /// The dense Mixer on the block-sparse kernels: every block kept, at Pixelfly's b.
    var denseBlocks: LinearKind { .denseBlocks(blockSize: blockSize) }

    /// `pixelfly-bench train` flags for the channel-mixing linears of `kind` (`.dense`,
    /// `denseBlocks` or `pixelfly`).
    func trainFlags(_ kind: LinearKind) -> [String] {
        kind.trainArguments ?? ["--linear", "dense"]
    }

    /// `scripts/pytorch-baseline.py` flags for the same dense Mixer (`PyTorchStep`).
    var pytorchArguments: [String] {
        ["--model", "mixer", "--width", "\(width)", "--depth", "\(depth)", "--hidden", "\(hidden)",
         "--token-hidden", "\(tokenHidden)", "--patch", "\(patchSize)", "--batch", "\(batchSize)"]
    }

    /// The Mixer with `kind` in its channel-mixing MLPs. The token-mixing MLPs (16 tokens → 32)
    /// and the embedding/head stay dense: they are too small for Pixelfly blocks.
    func mixer(_ kind: LinearKind) -> MLPMixerConfiguration {
        var c = MLPMixerConfiguration.small
        c.patchSize = patchSize
        c.width = width
        c.channelHidden = hidden
        c.tokenHidden = tokenHidden
        c.depth = depth
        c.channelMixingLinear = kind
        return c
    }
}
