import ArgumentParser
import Models
import PixelflyCore

/// `pixelfly-bench blocks`: the cost of the blocks' element-wise work against the GEMM next to
/// it, and block-sparse (flat butterfly) attention against dense attention.
struct BlocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocks",
        abstract: "GELU / LayerNorm / softmax cost relative to a dense GEMM, and butterfly-pattern vs dense attention.")

    @Option(help: "Rows (batch × tokens) of the element-wise measurements.")
    var rows: Int = 1024

    @Option(help: "Model width C.")
    var features: Int = 256

    @Option(help: "Attention heads.")
    var heads: Int = 4

    @Option(parsing: .upToNextOption, help: "Sequence lengths T of the attention measurements.")
    var sequenceLengths: [Int] = [256, 1024, 2048]

    @Option(help: "Score block size of the butterfly pattern.")
    var blockSize: Int = 64

    @Option(help: "Butterfly factors K of the score pattern (each query block sees K + 1 key blocks).")
    var factors: Int = 2

    @OptionGroup var timing: TimingOptions

    func run() throws {
        print(RunEnvironment.current().header)
        let elementwise = try ElementwiseBench.measure(rows: rows, features: features, timing: timing)
        print(elementwise.text)
        var attention = Table(["T", "causal", "pattern", "scores computed (dense / butterfly)", "dense fwd+bwd ms",
                               "butterfly fwd+bwd ms", "speed-up"])
        for length in sequenceLengths {
            for causal in [false, true] {
                try AttentionBench.measure(sequenceLength: length, features: features, heads: heads, causal: causal,
                                           blockSize: blockSize, factors: factors, timing: timing, into: &attention)
            }
        }
        print("\nMulti-head self-attention, batch 1, C = \(features), H = \(heads), dense projections (same in both);")
        print("forward + backward of the whole layer, median of \(timing.repetitions), interleaved:")
        print(attention.text)
    }
}
