import ArgumentParser
import Butterfly
import Distributed
import PixelflyModels
import PixelflyData
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// `pixelfly-bench train`: trains a ViT, MLP-Mixer or GPT with dense, Pixelfly, low-rank or
/// butterfly linears, printing loss, accuracy and time per step. The work is `runTraining` (module
/// PixelflyTraining), which the default job can call directly.
///
/// Under `mpirun -np N` it trains data-parallel: `--batch-size` is the global batch, split over
/// the N ranks; rank 0 alone prints, writes the JSON result and the checkpoints. Without
/// `mpirun` it makes no MPI call.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Trains a ViT / MLP-Mixer on Fashion-MNIST or a byte-level GPT on a text corpus.")

    @Option(help: "Model: \(ModelConfiguration.choices.joined(separator: " | ")).")
    var model: String = "vit"

    @Option(help: "Preset size: tiny | small.")
    var preset: String = "small"

    @Option(help: "Kind of every block linear: \(LinearKind.choices.joined(separator: " | ")).")
    var linear: String = "dense"

    @Option(help: "Rank of the low-rank term (pixelfly, lowrank).")
    var rank: Int = 8

    @Option(help: "Pixelfly / blocksparse butterfly size B (power of two).")
    var butterflySize: Int = 16

    @Option(help: "Pixelfly butterfly factors K (1 ≤ K ≤ log2 B).")
    var factors: Int = 2

    @Option(help: "Block size b of Pixelfly, blocksparse and dense-blocks (dense on the block-sparse kernels; b must divide every layer's width).")
    var blockSize: Int = 8

    @Option(help: "Monarch blocks per factor (monarch); clamped to min(in, out) per layer.")
    var nblocks: Int = 4

    @Option(help: "Pixelfly budget: fraction of dense compute per layer; the allocator picks B, K, b and the rank (overrides --butterfly-size, --factors, --block-size, --rank).")
    var budget: Double?

    @Option(help: "Pixelfly combination: sum | gated.")
    var combination: String = "sum"

    @Option(help: "Model width (overrides the preset).")
    var width: Int?

    @Option(help: "Hidden width of the MLPs (Mixer: of the channel-mixing MLP); default 4 × width.")
    var hidden: Int?

    @Option(help: "Mixer only: hidden width of the token-mixing MLP; default width / 2.")
    var tokenHidden: Int?

    @Option(help: "Mixer only: kind of the token-mixing linears (default: the same as --linear).")
    var tokenLinear: String?

    @Option(help: "vit / gpt: attention heads (overrides the preset; must divide the width).")
    var heads: Int?

    @Option(help: "Number of blocks (overrides the preset).")
    var depth: Int?

    @Option(help: "Patch size for vit / mixer (overrides the preset; must divide 28).")
    var patchSize: Int?

    @Option(help: "Attention score pattern block size (flat butterfly scores); omit for dense scores.")
    var attentionBlockSize: Int?

    @Option(help: "Butterfly factors of the attention score pattern.")
    var attentionFactors: Int = 1

    @Option(help: "Epochs (image models).")
    var epochs: Int = 1

    @Option(help: "Total steps (overrides --epochs; required for gpt, default 500).")
    var steps: Int?

    @Option(help: "Mini-batch size (default 128 for images, 16 for gpt); under mpirun the global batch, split over the ranks.")
    var batchSize: Int?

    @Option(help: "Peak learning rate.")
    var lr: Double = 1e-3

    @Option(help: "Decoupled weight decay (default 0.05 for images, 0.1 for gpt).")
    var weightDecay: Double?

    @Option(help: "Label smoothing (default 0.1 for images, 0 for gpt).")
    var labelSmoothing: Double?

    @Option(help: "Warmup steps (default 5% of the steps).")
    var warmup: Int?

    @Option(help: "Seed of the initialisation (and, plus 1, of the data order).")
    var seed: UInt64 = 0

    @Option(help: "Use only the first N training examples.")
    var trainLimit: Int?

    @Option(help: "Use only the first N test examples.")
    var testLimit: Int?

    @Option(help: "Steps between progress lines.")
    var logInterval: Int = 50

    @Option(help: "Steps between evaluations (default: every epoch; gpt: every 10%).")
    var evalInterval: Int?

    @Option(help: "Compute threads (default: all cores; OpenBLAS runs one thread per call on each).")
    var threads: Int?

    @Option(help: "Write a checkpoint (safetensors) here at every evaluation.")
    var checkpoint: String?

    @Option(help: "Resume from this checkpoint.")
    var resume: String?

    @Option(help: "Stop (evaluate and checkpoint) after this many steps, although the schedule runs to the full step count; resume later with --resume.")
    var stopAtStep: Int?

    @Option(help: "Write the result (per-evaluation accuracy, times, configuration, environment) as JSON here.")
    var json: String?

    @Option(help: "Fashion-MNIST directory.")
    var dataDirectory: String = FashionMNIST.defaultDirectory

    @Option(help: "Text corpus (file or folder) for gpt.")
    var corpus: String = TextCorpus.defaultPath

    @Option(help: "Under mpirun: gradient bucket size in MiB (each bucket's all-reduce starts as soon as its gradients are ready).")
    var bucketMegabytes: Double = 4

    @Option(help: "gpt: hold out every n-th corpus file whole (sorted order) instead of the last 10% of every file.")
    var corpusHeldOutEvery: Int?

    @Option(help: "gpt: validation batches per evaluation (always the same windows).")
    var evalBatches: Int?

    @Option(help: "Before every N-th step, print a gate line and wait for a line on standard input (the default job interleaves two trainings this way; not under mpirun).")
    var stepGate: Int?

    @Flag(help: "Allow a debug build (training would be very slow).")
    var allowDebug = false

    func validate() throws {
        #if DEBUG
        guard allowDebug else {
            throw ValidationError("this is a debug build; use `swift run -c release pixelfly-bench train …` or pass --allow-debug.")
        }
        #endif
        guard bucketMegabytes > 0 else { throw ValidationError("--bucket-megabytes must be positive, got \(bucketMegabytes)") }
        if let stepGate, stepGate < 1 { throw ValidationError("--step-gate must be at least 1 step, got \(stepGate)") }
    }

    func run() throws {
        if let threads { try ComputeThreads.setCount(threads) }
        let configuration = try makeConfiguration()
        guard MPIProcess.isLaunchedByMPI else { return try train(configuration, communicator: nil) }
        guard stepGate == nil else { throw ValidationError("--step-gate runs without mpirun only") }
        try MPIJob.run(bucketMegabytes: bucketMegabytes) { try train(configuration, communicator: $0) }
    }

    /// Trains; with a communicator, only rank 0 prints and writes files.
    func train(_ configuration: TrainingConfiguration, communicator: MPICommunicator?) throws {
        let ranks = communicator?.size ?? 1
        guard (communicator?.rank ?? 0) == 0 else {
            _ = try runTraining(configuration, communicator: communicator, log: { _ in })
            return
        }
        // A gated child shares the cores with its siblings from its first moment: no FMA probe.
        let measuresFMAPeak = stepGate == nil
        print(RunEnvironment.current(measuresFMAPeak: measuresFMAPeak).header)
        if let communicator {
            print("data-parallel: \(ranks) ranks × \(ComputeThreads.count) compute thread(s), \(communicator.buildIdentity)")
        }
        // Flush after every line so that progress shows as it happens, also in a log file.
        let gate = stepGate.map(StepGate.init(every:))
        let result = try runTraining(configuration, communicator: communicator, log: { print($0); fflush(nil) },
                                     beforeStep: { try gate?.wait(beforeStep: $0) })
        for record in result.evaluations {
            print("epoch \(format(record.epoch, 2)): test accuracy \(format(record.testAccuracy * 100, 2))%, "
                + "test loss \(format(record.testLoss, 4)), \(format(record.trainingSeconds, 1)) s training")
        }
        print("median step \(format(result.medianStepSeconds * 1e3, 2)) ms, \(result.parameterCount) parameters")
        if let communicator, let plan = communicator.plan {
            let s = communicator.statistics
            print("gradient all-reduce: \(plan.buckets.count) buckets, \(s.bytesPerStep) bytes per step; per step "
                + "\(format(s.waitSeconds / Double(max(s.steps, 1)) * 1e3, 2)) ms waiting after the backward pass, "
                + "\(format(s.startSeconds / Double(max(s.steps, 1)) * 1e3, 2)) ms copying and starting")
        }
        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "train", environment: RunEnvironment.current(measuresFMAPeak: measuresFMAPeak),
                configuration: ["model": model, "linear": linear, "preset": preset, "ranks": String(ranks)], results: result))
            print("wrote \(json)")
        }
    }

    func makeConfiguration() throws -> TrainingConfiguration {
        var modelConfiguration = try ModelConfiguration.preset(model, size: preset)
        try modelConfiguration.override(width: width, depth: depth, patchSize: patchSize,
                                        hidden: hidden, tokenHidden: tokenHidden, heads: heads)
        if let attentionBlockSize {
            try modelConfiguration.setAttentionScores(.flatButterfly(blockSize: attentionBlockSize, factors: attentionFactors))
        }
        modelConfiguration.setBlockLinear(try linearKind(linear))
        if let tokenLinear { try modelConfiguration.setTokenMixingLinear(try linearKind(tokenLinear)) }
        var c = TrainingConfiguration(model: modelConfiguration)
        c.epochs = epochs
        if let steps { c.steps = steps }
        if let batchSize { c.batchSize = batchSize }
        c.learningRate = lr
        if let weightDecay { c.weightDecay = weightDecay }
        if let labelSmoothing { c.labelSmoothing = labelSmoothing }
        c.warmupSteps = warmup
        c.seed = seed
        c.trainingLimit = trainLimit
        c.testLimit = testLimit
        c.logInterval = logInterval
        c.evaluationInterval = evalInterval
        c.checkpointPath = checkpoint
        c.resumePath = resume
        c.stopAtStep = stopAtStep
        c.dataDirectory = dataDirectory
        c.corpusPath = corpus
        c.corpusHeldOutEvery = corpusHeldOutEvery
        if let evalBatches { c.evaluationBatches = evalBatches }
        return c
    }

    func linearKind(_ name: String) throws -> LinearKind {
        switch name {
        case "dense": return .dense
        case "dense-blocks": return .denseBlocks(blockSize: blockSize)
        case "lowrank": return .lowRank(rank: rank)
        case "butterfly": return .butterfly
        case "monarch": return .monarch(nblocks: nblocks)
        case "blocksparse":
            return .blockSparse(FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize))
        case "pixelfly":
            if let budget { return .pixelflyBudget(targetFraction: budget) }
            guard let combined = PixelflyCombination(rawValue: combination) else {
                throw ValidationError("--combination must be one of \(PixelflyCombination.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .pixelfly(PixelflySettings(
                mask: FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize),
                rank: rank, combination: combined))
        default:
            throw ValidationError("a linear kind must be one of \(LinearKind.choices.joined(separator: ", ")); got \(name)")
        }
    }
}
