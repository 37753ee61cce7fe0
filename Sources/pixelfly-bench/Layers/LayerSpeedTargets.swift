/// The speed targets the layer rows are held to (issue 11, "Speed-up on every x86 CPU"), checked
/// on the rows of one run: every ratio is against the faster of the two dense layers timed
/// interleaved in the same process (same OpenBLAS kernels, same threads;
/// `LayerSettings.denseKinds`), so a verdict holds for the machine, kernel family and thread
/// count the run names — nowhere else.
struct LayerSpeedTarget: Sendable {
    enum Metric: Sendable {
        /// forward+backward time ÷ dense time, at most `bound`.
        case timeRatio
        /// forward+backward GFLOP/s on nonzero work ÷ dense GFLOP/s, at least `bound`.
        case rateShare
    }

    var kind: String
    var batches: ClosedRange<Int>
    var metric: Metric
    var bound: Double

    /// "block-sparse f+b ≤ 0.22× dense, batch ≥ 1024", from the fields.
    var label: String {
        let name = kind == "pixelfly" ? "Pixelfly r64" : "block-sparse"
        let claim = metric == .timeRatio ? "f+b ≤ \(format(bound, 2))× dense" : "GFLOP/s ≥ \(format(100 * bound, 0)) % of dense"
        let batch = batches.upperBound == Int.max ? "batch ≥ \(batches.lowerBound)" : "batch ≤ \(batches.upperBound)"
        return "\(name) \(claim), \(batch)"
    }

    /// The issue's targets. The Pixelfly ones are set for rank 64 and apply only to runs at that
    /// rank.
    static func issue11(rank: Int) -> [LayerSpeedTarget] {
        let large = 1024...Int.max, small = 1...64
        return [
            LayerSpeedTarget(kind: "sparse", batches: large, metric: .timeRatio, bound: 0.22),
            LayerSpeedTarget(kind: "sparse", batches: large, metric: .rateShare, bound: 0.85),
            LayerSpeedTarget(kind: "sparse", batches: small, metric: .timeRatio, bound: 0.5),
        ] + (rank != 64 ? [] : [
            LayerSpeedTarget(kind: "pixelfly", batches: large, metric: .timeRatio, bound: 0.30),
            LayerSpeedTarget(kind: "pixelfly", batches: small, metric: .timeRatio, bound: 0.5),
        ])
    }

    struct Verdict: Sendable {
        var target: LayerSpeedTarget
        var met: Int
        var rows: Int
        /// The row farthest on the wrong side of the bound (or closest to it when all are met).
        var worst: LayerMeasurement
        var worstValue: Double
        /// For a time ratio: the smallest and largest share of dense's FLOPs among the rows
        /// (nil without dense rows to compare with).
        var flopShares: ClosedRange<Double>?

        var line: String {
            let value = target.metric == .timeRatio ? format(worstValue, 3) + "×" : format(100 * worstValue, 1) + " %"
            return "\(target.label): \(met) of \(rows) rows; worst \(value) (\(worst.input)→\(worst.output), "
                + "batch \(worst.batch), \(worst.threads) thread\(worst.threads == 1 ? "" : "s"))" + floorClause
        }

        /// "; FLOPs 0.266–0.292× dense's: ≤ 0.30× asks 89–97 % of dense's GFLOP/s". A time ratio
        /// t at a FLOP share f means f ÷ t of dense's GFLOP/s, so the bound asks f ÷ bound.
        private var floorClause: String {
            guard let shares = flopShares else { return "" }
            func range(_ a: String, _ b: String) -> String { a == b ? a : a + "–" + b }
            let asked = range(format(100 * shares.lowerBound / target.bound, 0), format(100 * shares.upperBound / target.bound, 0))
            return "; FLOPs \(range(format(shares.lowerBound, 3), format(shares.upperBound, 3)))× dense's: "
                + "≤ \(format(target.bound, 2))× asks \(asked) % of dense's GFLOP/s"
        }
    }

    /// nil when the run has no row this target applies to.
    func check(_ rows: [LayerMeasurement]) -> Verdict? {
        let applicable = rows.filter { $0.kind == kind && batches.contains($0.batch) }
        /// The row's baseline: the faster dense layer of its run.
        func dense(of row: LayerMeasurement) -> LayerMeasurement? {
            rows.first {
                $0.kind == row.forwardBackwardBaseline && $0.input == row.input && $0.output == row.output
                    && $0.batch == row.batch && $0.threads == row.threads
            }
        }
        let measured: [(LayerMeasurement, Double)] = applicable.compactMap { row in
            switch metric {
            case .timeRatio:
                return (row, row.forwardBackwardRatio)
            case .rateShare:
                guard let dense = dense(of: row) else { return nil }
                return (row, row.forwardBackwardGFLOPs / dense.forwardBackwardGFLOPs)
            }
        }
        let ordered = measured.sorted { metric == .timeRatio ? $0.1 > $1.1 : $0.1 < $1.1 }
        guard let (worst, worstValue) = ordered.first else { return nil }
        let met = measured.filter { metric == .timeRatio ? $0.1 <= bound : $0.1 >= bound }.count
        let shares = metric == .timeRatio
            ? applicable.compactMap { row in dense(of: row).map { Double(row.forwardFLOPsPerRow) / Double($0.forwardFLOPsPerRow) } }
            : []
        return Verdict(target: self, met: met, rows: measured.count, worst: worst, worstValue: worstValue,
                       flopShares: shares.min().flatMap { low in shares.max().map { low...$0 } })
    }

    /// One line per target with rows in `rows`, under a heading that names the machine state.
    static func report(_ rows: [LayerMeasurement], rank: Int, machine: String) -> [String] {
        let verdicts = issue11(rank: rank).compactMap { $0.check(rows) }
        guard !verdicts.isEmpty else { return [] }
        return ["Speed targets on this run (\(machine)):"] + verdicts.map { "  " + $0.line }
    }
}
