import Butterfly
import PixelflyCore

/// Section 2 of the default job: the two dense layers (OpenBLAS, and every block on the
/// block-sparse kernels: the faster is each row's baseline), block-sparse and Pixelfly linears at B = 16, K = 2,
/// rank 64 (the reference setting), b = 32 where it divides the butterfly tiles and the
/// tile-aligned size otherwise (48 at 768↔3072, where b = 32 would keep 20.8 % of the blocks
/// instead of 3/16), plus a density sweep of the block-sparse kernel (K = 1…4) for the
/// speed-up-against-density plot.
struct DefaultLayerSection: Encodable {
    var rows: [LayerMeasurement]
    var table: Table
    var sweepBatch: Int

    static let settings = LayerSettings(
        mask: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32), rank: 64,
        kinds: LayerSettings.denseKinds + ["sparse", "pixelfly"], alignsBlockSize: true)
    /// Block-sparse layers at these factor counts are added to the 1-thread runs at the sweep batch.
    static let sweepFactors = [1, 3, 4]

    /// Batch of the density sweep and the plot: 1024 rows (one training step of the default
    /// Mixer) in the default job, the 4096 with `--full`.
    static func sweepBatch(full: Bool) -> Int { full ? 4096 : 1024 }

    enum CodingKeys: String, CodingKey { case rows, sweepBatch }

    static func run(full: Bool, timing: TimingOptions) throws -> DefaultLayerSection {
        let shapes = [(1024, 4096), (4096, 1024), (768, 3072), (3072, 768)]
        let batches = full ? [64, 512, 4096] : [64, 1024]
        let sweep = sweepBatch(full: full)
        var rows: [LayerMeasurement] = []
        var table = Table(["in×out", "b", "batch", "thr", "kind", "FLOPs ÷ dense", "fwd ×dense", "f+b ×dense", "f+b ×dense range",
                           "f+b ms", "f+b GF/s", "max err"])
        let saved = ComputeThreads.count
        defer { try? ComputeThreads.setCount(saved) }
        for (input, output) in shapes {
            var candidates = try settings.candidates(input: input, output: output, seed: 11)
            let b = try settings.mask(input: input, output: output).blockSize
            let dense = Double(2 * input * output)
            for threads in [1, 2] {
                try ComputeThreads.setCount(threads)
                for batch in batches {
                    var measured = candidates
                    if batch == sweep && threads == 1 {
                        measured += try sweepFactors.map { k in
                            var rng = SeededRandom(seed: UInt64(20 + k))
                            let mask = try FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration:
                                FlatButterflyConfiguration(butterflySize: 16, factors: k, blockSize: b))
                            return LayerCandidate(kind: "sparse K=\(k)", layer: try BlockSparseLinear<Float>(mask: mask, rng: &rng))
                        }
                    }
                    let result = try LayerMeasurement.measure(
                        measured, input: input, output: output, batch: batch, threads: threads, blockSize: b,
                        warmup: timing.warmup, repetitions: timing.repetitions, checkedRows: 32, seed: 12)
                    for m in result {
                        table.append(["\(input)×\(output)", "\(b)", "\(batch)", "\(threads)", m.kind,
                                      format(Double(m.forwardFLOPsPerRow) / dense, 3),
                                      format(m.forwardRatio, 3), format(m.forwardBackwardRatio, 3),
                                      format(m.forwardBackwardRatioSpread.min, 3) + "–" + format(m.forwardBackwardRatioSpread.max, 3),
                                      format(m.forwardBackward.median * 1e3, 2), format(m.forwardBackwardGFLOPs, 1),
                                      format(m.maxForwardError / max(m.referenceScale, 1e-30), 8)])
                    }
                    rows += result
                }
            }
            candidates.removeAll()
        }
        return DefaultLayerSection(rows: rows, table: table, sweepBatch: sweep)
    }

    /// The issue-11 verdicts on these rows (`LayerSpeedTarget`), under a heading naming `machine`.
    func targetLines(machine: String) -> [String] {
        LayerSpeedTarget.report(rows, rank: Self.settings.rank, machine: machine)
    }

    /// Speed-up (dense f+b time ÷ layer f+b time) against FLOP density, sweep batch, 1 thread.
    var plot: SVGPlot {
        var plot = SVGPlot(title: "Linear layers: speed-up over dense (forward+backward, batch \(sweepBatch), 1 thread)",
                           xLabel: "FLOPs ÷ dense FLOPs", yLabel: "speed-up over dense", referenceY: 1)
        let selected = rows.filter { $0.batch == sweepBatch && $0.threads == 1 && $0.kind != "dense" }
        for shape in Set(selected.map { "\($0.input)×\($0.output)" }).sorted() {
            let points = selected.filter { "\($0.input)×\($0.output)" == shape && $0.kind.hasPrefix("sparse") }
                .map { (x: Double($0.forwardFLOPsPerRow) / Double(2 * $0.input * $0.output), y: 1 / $0.forwardBackwardRatio) }
                .sorted { $0.x < $1.x }
            plot.add("block-sparse \(shape)", points)
            let pixelfly = selected.filter { "\($0.input)×\($0.output)" == shape && $0.kind == "pixelfly" }
                .map { (x: Double($0.forwardFLOPsPerRow) / Double(2 * $0.input * $0.output), y: 1 / $0.forwardBackwardRatio) }
            plot.add("Pixelfly r64 \(shape)", pixelfly)
        }
        return plot
    }
}
