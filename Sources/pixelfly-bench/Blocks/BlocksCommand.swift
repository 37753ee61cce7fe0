import ArgumentParser
import PixelflyCore
import PixelflyModels

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

    @Option(help: "Sequences per attention batch B (rows are B·T).")
    var batch: Int = 1

    @Option(help: "Score block size of the butterfly pattern.")
    var blockSize: Int = 64

    @Option(help: "Butterfly factors K of the score pattern (each query block sees K + 1 key blocks).")
    var factors: Int = 2

    @OptionGroup var timing: TimingOptions

    func run() throws {
        print(RunEnvironment.current().header)
        let elementwise = try ElementwiseBench.measure(rows: rows, features: features, timing: timing)
        print(elementwise.text)
        var attention = Table(AttentionBench.columns)
        for length in sequenceLengths {
            for causal in [false, true] {
                let shape = AttentionBench.Shape(batch: batch, sequenceLength: length, features: features, heads: heads, causal: causal)
                try AttentionBench.measure(shape, blockSize: blockSize, factors: factors, timing: timing, into: &attention)
            }
        }
        print("\nMulti-head self-attention, C = \(features), H = \(heads), dense projections (the same in both layers);")
        print("forward + backward, median of \(timing.repetitions), interleaved; projections = the four C×C linears alone:")
        print(attention.text)
    }
}
