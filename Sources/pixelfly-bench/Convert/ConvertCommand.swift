import ArgumentParser
import Butterfly
import PixelflyTraining
import PixelflyCore
import PixelflyModels

/// `pixelfly-bench convert`: projects every block linear of a trained dense checkpoint onto
/// Pixelfly (masked weights + best rank-r residual) or Monarch (Frobenius projection) and writes
/// a training checkpoint at step 0 that `train --resume` fine-tunes.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Converts a trained dense checkpoint to Pixelfly, Monarch or block-sparse linears.",
        discussion: """
        Resume the result with `train --resume OUT` and the dense run's model options plus the same \
        --linear options (e.g. --linear monarch --nblocks 4). The output is written atomically; on any \
        error nothing is written.
        """)

    @Option(help: "Dense training checkpoint (safetensors) written by `train --checkpoint`.")
    var checkpoint: String

    @Option(help: "Target kind: pixelfly | monarch | blocksparse.")
    var to: String

    @Option(help: "Where to write the converted checkpoint.")
    var out: String

    @Option(help: "Monarch blocks per factor.")
    var nblocks: Int = 4

    @Option(help: "Pixelfly / blocksparse butterfly size B.")
    var butterflySize: Int = 16

    @Option(help: "Pixelfly / blocksparse butterfly factors K.")
    var factors: Int = 2

    @Option(help: "Pixelfly / blocksparse block size b.")
    var blockSize: Int = 8

    @Option(help: "Rank of the Pixelfly low-rank term.")
    var rank: Int = 8

    @Option(help: "Mixer only: keep the token-mixing linears dense (`dense`) instead of converting them.")
    var tokenLinear: String?

    @Option(help: "Write the report (per-layer relative errors, parameter counts) as JSON here.")
    var json: String?

    func run() throws {
        let kind = try targetKind()
        var token: LinearKind?
        if let tokenLinear {
            guard tokenLinear == "dense" || tokenLinear == to else {
                throw ValidationError("--token-linear must be dense or \(to); got \(tokenLinear)")
            }
            token = tokenLinear == "dense" ? .dense : kind
        }
        let report = try writeConvertedCheckpoint(from: checkpoint, to: out, blockLinear: kind, tokenMixingLinear: token)
        for layer in report.layers {
            print("\(layer.name)  \(layer.inputFeatures)→\(layer.outputFeatures)  relative error \(format(layer.relativeError, 4))")
        }
        let mean = report.layers.map(\.relativeError).reduce(0, +) / Double(max(report.layers.count, 1))
        print("\(report.layers.count) linears converted to \(kind), mean relative error \(format(mean, 4)); "
            + "parameters \(report.denseParameterCount) → \(report.convertedParameterCount)")
        print("wrote \(out) (step 0, zero optimizer state); fine-tune with the dense run's options plus: --linear \(to) "
            + linearFlags + (tokenLinear.map { " --token-linear \($0)" } ?? "") + " --resume \(out)")
        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "convert", environment: RunEnvironment.current(),
                configuration: ["checkpoint": checkpoint, "to": to, "kind": kind.description], results: report))
        }
    }

    var linearFlags: String {
        switch to {
        case "monarch": return "--nblocks \(nblocks)"
        case "pixelfly": return "--butterfly-size \(butterflySize) --factors \(factors) --block-size \(blockSize) --rank \(rank)"
        default: return "--butterfly-size \(butterflySize) --factors \(factors) --block-size \(blockSize)"
        }
    }

    func targetKind() throws -> LinearKind {
        let mask = FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize)
        switch to {
        case "monarch": return .monarch(nblocks: nblocks)
        case "pixelfly": return .pixelfly(PixelflySettings(mask: mask, rank: rank, combination: .sum))
        case "blocksparse": return .blockSparse(mask)
        default: throw ValidationError("--to must be pixelfly, monarch or blocksparse; got \(to)")
        }
    }
}
