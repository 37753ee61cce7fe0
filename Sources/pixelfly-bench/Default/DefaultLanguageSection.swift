import Butterfly
import PixelflyModels
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// `--full` only: the byte-level GPT on the text corpus with dense and with Pixelfly linears in
/// every block (q, k, v, attention output, fc1, fc2), same seed and data order — step time,
/// speed-up and held-out next-byte loss and accuracy. Dense trains twice, with `DenseLinear`
/// and with `.denseBlocks` (the same matrices on the block-sparse kernels, at Pixelfly's b);
/// the speed-up is against the faster, as in the rest of the job.
struct DefaultLanguageSection: Encodable {
    struct Run: Encodable {
        var linear: String
        var result: TrainingResult
    }

    /// The dense training with the faster median step, and the other one.
    var dense: Run
    var otherDense: Run
    var pixelfly: Run
    var stepSpeedup: Double
    var table: Table

    enum CodingKeys: String, CodingKey { case dense, otherDense, pixelfly, stepSpeedup }

    /// Width 512 (MLP 2048), 4 blocks of 8 heads, context 64, batch 16 (1024 rows a step),
    /// 2000 steps; Pixelfly B 16, K 2, b 32, rank 32 (512 = 16 tiles of 32).
    static func run(seed: UInt64) throws -> DefaultLanguageSection {
        var model = GPTConfiguration.small
        model.width = 512
        model.mlpHidden = 2048
        model.heads = 8
        let blockSize = 32
        let pixelfly = LinearKind.pixelfly(PixelflySettings(
            mask: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: blockSize), rank: 32, combination: .sum))
        func train(_ kind: LinearKind, _ label: String) throws -> Run {
            var c = model
            c.linear = kind
            var configuration = TrainingConfiguration(model: .gpt(c))
            configuration.steps = 2000
            configuration.seed = seed
            configuration.logInterval = 250
            print("-- \(label): \(kind)")
            let result = try runTraining(configuration) { print("   " + $0); fflush(nil) }
            return Run(linear: kind.description, result: result)
        }
        let openBLASDense = try train(.dense, "dense")
        let blockDense = try train(.denseBlocks(blockSize: blockSize), "dense-blocks")
        let sparse = try train(pixelfly, "Pixelfly")
        let (dense, otherDense) = blockDense.result.medianStepSeconds < openBLASDense.result.medianStepSeconds
            ? (blockDense, openBLASDense) : (openBLASDense, blockDense)
        var table = Table(["linear", "parameters", "ms/step (median)", "step speed-up", "test loss (nats/byte)", "next-byte acc %"])
        for run in [dense, otherDense, sparse] {
            table.append([run.linear + (run.linear == dense.linear ? " (baseline)" : ""), "\(run.result.parameterCount)",
                          format(run.result.medianStepSeconds * 1e3, 1),
                          format(dense.result.medianStepSeconds / run.result.medianStepSeconds, 2) + "×",
                          format(run.result.finalTestLoss, 4), format(run.result.finalTestAccuracy * 100, 2)])
        }
        return DefaultLanguageSection(dense: dense, otherDense: otherDense, pixelfly: sparse,
                                      stepSpeedup: dense.result.medianStepSeconds / sparse.result.medianStepSeconds, table: table)
    }
}
