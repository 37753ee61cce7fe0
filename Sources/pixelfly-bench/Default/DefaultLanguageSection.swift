import Butterfly
import PixelflyModels
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// `--full` only: the byte-level GPT on the text corpus with dense and with Pixelfly linears in
/// every block (q, k, v, attention output, fc1, fc2), same seed and data order — step time,
/// speed-up and held-out next-byte loss and accuracy.
struct DefaultLanguageSection: Encodable {
    struct Run: Encodable {
        var linear: String
        var result: TrainingResult
    }

    var dense: Run
    var pixelfly: Run
    var stepSpeedup: Double
    var table: Table

    enum CodingKeys: String, CodingKey { case dense, pixelfly, stepSpeedup }

    /// Width 512 (MLP 2048), 4 blocks of 8 heads, context 64, batch 16 (1024 rows a step),
    /// 2000 steps; Pixelfly B 16, K 2, b 32, rank 32 (512 = 16 tiles of 32).
    static func run(seed: UInt64) throws -> DefaultLanguageSection {
        var model = GPTConfiguration.small
        model.width = 512
        model.mlpHidden = 2048
        model.heads = 8
        let pixelfly = LinearKind.pixelfly(PixelflySettings(
            mask: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32), rank: 32, combination: .sum))
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
        let dense = try train(.dense, "dense")
        let sparse = try train(pixelfly, "Pixelfly")
        var table = Table(["linear", "parameters", "ms/step (median)", "step speed-up", "test loss (nats/byte)", "next-byte acc %"])
        for run in [dense, sparse] {
            table.append([run.linear, "\(run.result.parameterCount)", format(run.result.medianStepSeconds * 1e3, 1),
                          format(dense.result.medianStepSeconds / run.result.medianStepSeconds, 2) + "×",
                          format(run.result.finalTestLoss, 4), format(run.result.finalTestAccuracy * 100, 2)])
        }
        return DefaultLanguageSection(dense: dense, pixelfly: sparse,
                                      stepSpeedup: dense.result.medianStepSeconds / sparse.result.medianStepSeconds, table: table)
    }
}
