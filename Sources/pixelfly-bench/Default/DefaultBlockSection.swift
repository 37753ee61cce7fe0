import PixelflyModels
import PixelflyTraining
import PixelflyCore

/// Section 3 of the default job: the blocks of the trained model, forward + backward, with
/// dense linears (twice: `DenseLinear` and `.denseBlocks`, the same matrices on the block-sparse
/// kernels) and with Pixelfly linears, timed interleaved at the model's width and batch. The
/// speed-up is against the faster dense block, as in the layer table.
struct DefaultBlockSection: Encodable {
    struct Row: Encodable {
        var block: String
        var rows: Int
        /// The block with `DenseLinear`s and with `.denseBlocks` linears (nil for a block whose
        /// products are dense in every variant: the token-mixing MLP).
        var dense: TimingSample
        var denseBlocks: TimingSample?
        var pixelfly: TimingSample
        /// "dense" or "dense-blocks": the faster median, the speed-up's baseline.
        var baseline: String
        var speedup: Double
        /// Smallest and largest per-repetition baseline ÷ Pixelfly time.
        var speedupSpread: RatioSpread
    }

    var rows: [Row]
    var table: Table

    enum CodingKeys: String, CodingKey { case rows }

    static func run(options: DefaultTrainingOptions, timing: TimingOptions) throws -> DefaultBlockSection {
        let tokens = (28 / options.patchSize) * (28 / options.patchSize)
        let rowCount = options.batchSize * tokens
        // Blocks whose linears follow the kind are built dense, dense-blocks and Pixelfly; a block
        // that is the same in every variant (the token-mixing MLP) only dense and Pixelfly, so it
        // has one dense baseline instead of the faster of two timings of the same code.
        let allKinds: [LinearKind] = [.dense, options.denseBlocks, options.pixelfly]
        let sameInEveryVariant: [LinearKind] = [.dense, options.pixelfly]
        var rng = SeededRandom(seed: 5)
        let x = Matrix<Float>(rows: rowCount, cols: options.width, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Float>(rows: rowCount, cols: options.width, initializer: .uniform(low: -1, high: 1), rng: &rng)

        func blocks(_ kinds: [LinearKind], _ make: (LinearFactory<Float>, inout SeededRandom) throws -> any Layer<Float>) throws -> [any Layer<Float>] {
            try kinds.map { kind in
                var blockRNG = SeededRandom(seed: 7)
                return try make(kind.factory(), &blockRNG)
            }
        }
        // (name, the block built with each kind: dense, [dense-blocks,] Pixelfly)
        let candidates: [(String, [any Layer<Float>])] = [
            ("pre-norm MLP \(options.width)→\(options.hidden)→\(options.width)", try blocks(allKinds) { linear, rng in
                try PreNormResidual(features: options.width, body: MLPBlock(features: options.width, hiddenFeatures: options.hidden,
                                                                          linear: linear, rng: &rng))
            }),
            ("pre-norm token-mixing MLP \(tokens)→\(options.tokenHidden)→\(tokens) (dense in both)", try blocks(sameInEveryVariant) { _, rng in
                try PreNormResidual(features: options.width, body: DenseTokenMixing(
                    tokens: tokens, channels: options.width, hiddenFeatures: options.tokenHidden, name: "token_mixing", rng: &rng))
            }),
            ("pre-norm attention C=\(options.width), 8 heads, T=\(tokens)", try blocks(allKinds) { linear, rng in
                try PreNormResidual(features: options.width, body: MultiHeadSelfAttention(
                    features: options.width, heads: 8, sequenceLength: tokens, linear: linear, rng: &rng))
            }),
        ]
        var rows: [Row] = []
        var table = Table(["block", "rows", "dense ms", "dense-blocks ms", "Pixelfly ms", "speed-up over the faster dense",
                           "speed-up range", "threads"])
        for (name, layers) in candidates {
            var outputs = layers.map { _ in Matrix<Float>(rows: 0, cols: 0) }
            var gradients = layers.map { _ in Matrix<Float>(rows: 0, cols: 0) }
            let bodies: [() throws -> Void] = layers.indices.map { i in
                {
                    try layers[i].forward(x, into: &outputs[i])
                    try layers[i].backward(input: x, outputGradient: dy, inputGradient: &gradients[i])
                }
            }
            let samples = try measureInterleaved(warmup: timing.warmup, repetitions: timing.repetitions, bodies)
            let denseBlocks = samples.count == 3 ? samples[1] : nil
            let pixelfly = samples[samples.count - 1]
            let blocksFaster = denseBlocks.map { $0.median < samples[0].median } ?? false
            let baseline = blocksFaster ? samples[1] : samples[0]
            let row = Row(block: name, rows: rowCount, dense: samples[0], denseBlocks: denseBlocks, pixelfly: pixelfly,
                          baseline: blocksFaster ? "dense-blocks" : "dense",
                          speedup: baseline.median / pixelfly.median,
                          speedupSpread: RatioSpread(baseline, over: pixelfly))
            rows.append(row)
            func milliseconds(_ sample: TimingSample, _ isBaseline: Bool) -> String {
                format(sample.median * 1e3, 2) + (isBaseline ? " *" : "")
            }
            table.append([name, "\(rowCount)", milliseconds(row.dense, !blocksFaster), row.denseBlocks.map { milliseconds($0, blocksFaster) } ?? "—",
                          format(row.pixelfly.median * 1e3, 2),
                          format(row.speedup, 2) + "×",
                          format(row.speedupSpread.min, 2) + "–" + format(row.speedupSpread.max, 2) + "×", "\(ComputeThreads.count)"])
        }
        return DefaultBlockSection(rows: rows, table: table)
    }
}
