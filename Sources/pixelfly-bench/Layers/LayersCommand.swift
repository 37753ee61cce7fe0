import ArgumentParser
import Butterfly
import PixelflyCore

/// `pixelfly-bench layers`: every linear kind against dense, same process, same kernels/threads.
struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Forward and forward+backward time of each linear kind as a ratio of the dense layer's time.",
        discussion: "Shapes are in×out. The kinds are timed interleaved in one process with the same OpenBLAS kernels and thread count. Two dense layers are always timed — dense (OpenBLAS) and dense-blocks (every block kept, on the block-sparse kernels, at the sparse kinds' b) — and every ratio is against the faster of the two in its row.")

    @Option(parsing: .upToNextOption, help: "Shapes as IN×OUT (or INxOUT).")
    var shapes: [String] = ["1024x4096", "4096x1024", "768x3072", "3072x768"]

    @Option(parsing: .upToNextOption, help: "Batch sizes (rows of x).")
    var batches: [Int] = [64, 1024, 4096]

    @Option(parsing: .upToNextOption, help: "Compute thread counts (OpenBLAS runs one thread per call on each).")
    var threads: [Int] = [1, 2]

    @Option(parsing: .upToNextOption, help: "Layer kinds to time, from dense sparse lowrank pixelfly pixelfly-gated monarch sparse-openblas pixelfly-openblas sparse-libxsmm pixelfly-libxsmm (dense and dense-blocks are always included: the faster is the baseline; sparse and pixelfly pick their block-sparse kernel per batch, *-openblas and *-libxsmm pin it).")
    var kinds: [String] = ["dense", "sparse", "lowrank", "pixelfly"]

    @Option(name: [.customShort("B"), .customLong("butterfly-size")], help: "Butterfly size B.")
    var butterflySize: Int = 16

    @Option(name: [.customShort("K"), .customLong("factors")], help: "Butterfly factors K.")
    var factors: Int = 2

    @Option(name: [.customShort("b"), .customLong("block-size")],
            help: "Block size b (default: per shape, 32 where it divides the butterfly tiles out/B and in/B, else the nearest tile-aligned size, e.g. 48 at 768↔3072).")
    var blockSize: Int?

    @Option(help: "Rank of the low-rank and Pixelfly layers.")
    var rank: Int = 64

    @Option(help: "Monarch blocks (default: the power of two whose parameter count is closest to the Pixelfly layer's).")
    var nblocks: Int?

    @Option(help: "Rows of each output checked against the Double reference.")
    var checkedRows: Int = 64

    @Option(help: "Write the rows (with the environment) as JSON to this file.")
    var json: String?

    @OptionGroup var timing: TimingOptions

    func run() throws {
        let environment = RunEnvironment.current()
        print(environment.header)
        let parsedShapes = try shapes.map(Self.parseShape)
        let settings = LayerSettings(
            mask: FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize ?? 32),
            rank: rank, kinds: LayerSettings.denseKinds + kinds.filter { !LayerSettings.denseKinds.contains($0) }, nblocks: nblocks, alignsBlockSize: blockSize == nil)
        let saved = ComputeThreads.count
        defer { try? ComputeThreads.setCount(saved) }
        var rows: [LayerMeasurement] = []
        var table = Table(["in×out", "b", "batch", "thr", "kind", "fwd ms", "fwd ×dense", "fwd GF/s",
                           "f+b ms", "f+b ×dense", "f+b GF/s", "dense GF/s", "GF/s ÷ dense", "max err (scale)"])
        print("×dense, dense GF/s: against the faster of dense (OpenBLAS) and dense-blocks (every block on the block-sparse kernels) in each row")
        for (input, output) in parsedShapes {
            let candidates = try settings.candidates(input: input, output: output, seed: 11)
            let b = try settings.mask(input: input, output: output).blockSize
            for threadCount in threads {
                try ComputeThreads.setCount(threadCount)
                for batch in batches {
                    let measured = try LayerMeasurement.measure(
                        candidates, input: input, output: output, batch: batch, threads: threadCount, blockSize: b,
                        warmup: timing.warmup, repetitions: timing.repetitions, checkedRows: checkedRows, seed: 12)
                    let baseline = measured.first { $0.kind == measured.first?.forwardBackwardBaseline }
                    for m in measured {
                        let denseRate = baseline?.forwardBackwardGFLOPs ?? .nan
                        let row = [
                            "\(input)×\(output)", "\(b)", "\(batch)", "\(threadCount)", m.kind,
                            format(m.forward.median * 1e3, 2), format(m.forwardRatio, 3), format(m.forwardGFLOPs, 1),
                            format(m.forwardBackward.median * 1e3, 2), format(m.forwardBackwardRatio, 3),
                            format(m.forwardBackwardGFLOPs, 1), format(denseRate, 1),
                            format(m.forwardBackwardGFLOPs / denseRate, 2),
                            "\(format(m.maxForwardError, 7)) (\(format(m.referenceScale, 2)))",
                        ]
                        table.append(row)
                        print(row.joined(separator: "  "))
                    }
                    rows += measured
                }
            }
        }
        print("")
        print(table.text)
        if let line = Self.denseShareOfPeak(rows, peak: environment.fmaPeak?.forDenseKernels) { print(line) }
        for line in LayerSpeedTarget.report(rows, rank: rank, machine: environment.machine) { print(line) }
        print("load average after the run: \(RunEnvironment.current().hostLoadAverage)")
        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "pixelfly-bench layers " + CommandLine.arguments.dropFirst(2).joined(separator: " "),
                environment: environment,
                configuration: ["B": "\(butterflySize)", "K": "\(factors)", "b": blockSize.map { "\($0)" } ?? "tile-aligned per shape (see the rows)", "rank": "\(rank)",
                                "repetitions": "\(timing.repetitions)", "warmup": "\(timing.warmup)"],
                results: rows))
            print("JSON written to \(json)")
        }
    }

    /// How close the dense baseline runs to the hardware: its f+b GFLOP/s as a share of the FMA
    /// peak of the vector width its kernels use, times the threads (one core each).
    static func denseShareOfPeak(_ rows: [LayerMeasurement], peak: Double?) -> String? {
        guard let peak else { return nil }
        let shares = rows.filter { $0.kind == "dense" }.map { $0.forwardBackwardGFLOPs / (peak * Double($0.threads)) }
        guard let low = shares.min(), let high = shares.max() else { return nil }
        return "dense f+b GFLOP/s ÷ (FMA peak × threads): \(format(100 * low, 0))–\(format(100 * high, 0)) % "
            + "(peak \(format(peak, 0)) GFLOP/s per core at the width of OpenBLAS's \(OpenBLASRuntime.coreName) kernels)"
    }

    static func parseShape(_ text: String) throws -> (Int, Int) {
        let parts = text.split(whereSeparator: { $0 == "x" || $0 == "×" }).compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
            throw ValidationError("shape \(text) must be IN×OUT with positive sizes, e.g. 1024x4096")
        }
        return (parts[0], parts[1])
    }
}
