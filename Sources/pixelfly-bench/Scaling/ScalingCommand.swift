import ArgumentParser
import Distributed
import PixelflyModels
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// `pixelfly-bench scaling`: what one data-parallel training step costs, split into compute and
/// gradient all-reduce, for the default job's dense Mixer (both dense layers: `DenseLinear` and
/// dense-blocks, the same model on the block-sparse kernels) and its Pixelfly Mixer.
///
/// Run it alone (one process; `--threads` compute threads) or as `mpirun -np N pixelfly-bench
/// scaling` (N ranks). The global batch is fixed and split over the ranks. Dense and Pixelfly
/// steps alternate, each preceded by a barrier so that every rank starts it together. Per step:
///
/// - step: wall time of `Trainer.step` (forward, backward with bucketed `MPI_Iallreduce`
///   started as gradients become ready, wait, AdamW);
/// - wait: time blocked in `MPI_Waitall` after the backward pass (all-reduce not hidden);
/// - overhead: copying gradients into and out of buckets, starting and testing reductions;
/// - compute: step − wait − overhead;
/// - forward: a forward pass and loss alone on the same batch (to split compute into forward
///   and backward for the cost model);
/// - AdamW: one optimizer update alone (its cost scales with the parameters, not the batch);
/// - all-reduce: the same buckets reduced again with blocking `MPI_Allreduce` and nothing to
///   overlap — the bare cost of moving one step's gradients.
struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Data-parallel step cost: compute vs gradient all-reduce time and bytes, dense vs Pixelfly Mixer (run under mpirun -np N).")

    @OptionGroup var model: DefaultTrainingOptions

    @Option(help: "Timed steps per model (the median is reported, with quartiles).")
    var steps: Int = 10

    @Option(help: "Untimed steps per model first.")
    var warmupSteps: Int = 2

    @Option(help: "Compute threads per rank.")
    var threads: Int?

    @Option(help: "Gradient bucket size in MiB.")
    var bucketMegabytes: Double = 4

    @Option(help: "Write the measurements as JSON here (rank 0).")
    var json: String?

    @Flag(help: "Allow timing a debug build (numbers are meaningless; for testing the bench itself).")
    var allowDebug = false

    func validate() throws {
        guard steps >= 1, warmupSteps >= 0 else { throw ValidationError("--steps must be at least 1 and --warmup-steps non-negative") }
        guard bucketMegabytes > 0 else { throw ValidationError("--bucket-megabytes must be positive") }
        #if DEBUG
        guard allowDebug else { throw ValidationError("this is a debug build; use `swift run -c release pixelfly-bench scaling` or pass --allow-debug.") }
        #endif
    }

    func run() throws {
        if let threads { try ComputeThreads.setCount(threads) }
        guard MPIProcess.isLaunchedByMPI else { return try measure(communicator: nil) }
        try MPIJob.run(bucketMegabytes: bucketMegabytes) { try measure(communicator: $0) }
    }

    func measure(communicator: MPICommunicator?) throws {
        let (rank, ranks) = (communicator?.rank ?? 0, communicator?.size ?? 1)
        let rows: Range<Int>
        do { rows = try DataShard(rank: rank, size: ranks).rows(ofBatch: model.batchSize) } catch { throw CollectiveError(error) }
        if rank == 0 {
            print(RunEnvironment.current().header)
            print("\(ranks) rank(s) × \(ComputeThreads.count) compute thread(s); global batch \(model.batchSize), \(rows.count) rows per rank; "
                + "\(warmupSteps) warm-up + \(steps) timed steps per model, interleaved" + (communicator.map { "; \($0.buildIdentity)" } ?? ""))
            fflush(nil)
        }
        var rng = SeededRandom(seed: model.seed &+ UInt64(rank) &+ 100)
        let images = Matrix<Float>(rows: rows.count, cols: 784, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let labels = (0..<rows.count).map { ($0 * 7 + rank) % 10 }
        let kinds: [(String, LinearKind)] = [("dense", .dense), ("dense-blocks", model.denseBlocks), ("pixelfly", model.pixelfly)]
        var runs: [ScalingRun] = []
        for (name, kind) in kinds {
            // One communicator per trainer: each plans its own buckets.
            let modelCommunicator = try communicator.map { _ in
                try MPICommunicator(bucketElements: Int(bucketMegabytes * 1_048_576) / 4, buildIdentity: MPIJob.buildIdentity)
            }
            let trainer = try Trainer(
                model: ModelConfiguration.mixer(model.mixer(kind)).makeModel(seed: model.seed, as: Float.self),
                schedule: WarmupCosineSchedule(peak: 1e-4, warmupSteps: 1, totalSteps: warmupSteps + steps + 1),
                loss: SoftmaxCrossEntropy(labelSmoothing: 0.1), hyperparameters: .init(), clipNorm: 1,
                communicator: modelCommunicator)
            try trainer.broadcastStateFromRankZero()
            runs.append(ScalingRun(name: name, trainer: trainer, communicator: modelCommunicator))
        }
        for index in 0..<(warmupSteps + steps) {
            for r in runs.indices {
                try runs[r].step(images: images, labels: labels, timed: index >= warmupSteps)
            }
        }
        guard rank == 0 else { return }
        var table = Table(["model", "parameters", "all-reduce bytes/step", "buckets", "step ms", "compute ms", "forward ms", "AdamW ms",
                           "wait ms", "overhead ms", "blocking all-reduce ms", "images/s"])
        var records: [ScalingRecord] = []
        for run in runs {
            let record = run.record(ranks: ranks, threads: ComputeThreads.count, globalBatch: model.batchSize)
            records.append(record)
            table.append([record.model, "\(record.parameters)", "\(record.allReduceBytesPerStep)", "\(record.buckets)",
                          record.step.text, record.compute.text, record.forward.text, record.optimizer.text, record.wait.text, record.overhead.text,
                          record.blockingAllReduce.text, format(record.imagesPerSecond, 1)])
        }
        print(table.text)
        print("(median [first–third quartile] over \(steps) steps; images/s = global batch / median step)")
        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "scaling", environment: RunEnvironment.current(),
                configuration: ["ranks": "\(ranks)", "threads": "\(ComputeThreads.count)", "globalBatch": "\(model.batchSize)",
                                "bucketMegabytes": "\(bucketMegabytes)"],
                results: records))
            print("wrote \(json)")
        }
    }
}
