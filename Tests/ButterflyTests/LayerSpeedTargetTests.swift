import Foundation
import Testing
@testable import pixelfly_bench

/// The issue-11 verdict lines of `pixelfly-bench layers` and the default job
/// (`LayerSpeedTarget`): counts, the worst row and which rows a target applies to, on made-up
/// rows with values on both sides of each bound; then one real (debug-build) run whose printed
/// verdicts must follow from its own JSON rows.
@Suite("layer speed targets")
struct LayerSpeedTargetTests {
    /// A row with the given f+b ratio and GFLOP/s (the timings themselves are not read).
    static func row(_ kind: String, batch: Int, ratio: Double, rate: Double = 100, input: Int = 1024, output: Int = 4096,
                    threads: Int = 1, flops: Int = 1, baseline: String = "dense") -> LayerMeasurement {
        let sample = TimingSample([ratio])
        return LayerMeasurement(input: input, output: output, batch: batch, threads: threads, kind: kind, blockSize: 32,
                                forwardFLOPsPerRow: flops, forward: sample, forwardBackward: sample,
                                forwardRatio: ratio, forwardBackwardRatio: ratio,
                                forwardBaseline: baseline, forwardBackwardBaseline: baseline,
                                forwardBackwardRatioSpread: RatioSpread(sample, over: sample),
                                forwardGFLOPs: rate, forwardBackwardGFLOPs: rate, maxForwardError: 0, referenceScale: 1)
    }

    static func target(_ label: String, rank: Int = 64) throws -> LayerSpeedTarget {
        try #require(LayerSpeedTarget.issue11(rank: rank).first { $0.label.hasPrefix(label) })
    }

    @Test func timeRatioCountsRowsAtOrBelowTheBoundAndNamesTheSlowest() throws {
        let rows = [
            Self.row("sparse", batch: 1024, ratio: 0.21),
            Self.row("sparse", batch: 4096, ratio: 0.22),                   // on the bound: met
            Self.row("sparse", batch: 4096, ratio: 0.234, output: 3072, threads: 2),
            Self.row("sparse", batch: 64, ratio: 0.9),                      // another batch range
            Self.row("pixelfly", batch: 1024, ratio: 0.5),                  // another kind
        ]
        let verdict = try #require(try Self.target("block-sparse f+b ≤ 0.22×").check(rows))
        #expect(verdict.met == 2 && verdict.rows == 3)
        #expect(verdict.worstValue == 0.234)
        #expect(verdict.line.hasSuffix(": 2 of 3 rows; worst 0.234× (1024→3072, batch 4096, 2 threads)"), "\(verdict.line)")
    }

    /// With dense rows to compare with, a time-ratio verdict also says what share of dense's FLOPs
    /// the rows do and so what share of dense's GFLOP/s the bound asks: FLOP share ÷ bound.
    @Test func timeRatioStatesTheGFLOPShareTheBoundAsks() throws {
        let rows = [
            Self.row("dense", batch: 1024, ratio: 1, flops: 1000),
            Self.row("dense", batch: 1024, ratio: 1, output: 3072, flops: 1000),
            Self.row("pixelfly", batch: 1024, ratio: 0.29, flops: 270),
            Self.row("pixelfly", batch: 1024, ratio: 0.33, output: 3072, flops: 291),
            Self.row("pixelfly", batch: 1024, ratio: 0.3, output: 768, flops: 10),   // no dense row: no share
        ]
        let verdict = try #require(try Self.target("Pixelfly r64 f+b ≤ 0.30×").check(rows))
        #expect(verdict.met == 2 && verdict.rows == 3)
        #expect(verdict.line.hasSuffix("; FLOPs 0.270–0.291× dense's: ≤ 0.30× asks 90–97 % of dense's GFLOP/s"), "\(verdict.line)")
        let one = try #require(try Self.target("Pixelfly r64 f+b ≤ 0.30×").check(Array(rows.prefix(3))))
        #expect(one.line.hasSuffix("; FLOPs 0.270× dense's: ≤ 0.30× asks 90 % of dense's GFLOP/s"), "\(one.line)")
        let rate = try #require(try Self.target("block-sparse GFLOP/s ≥ 85 %").check(
            [Self.row("dense", batch: 1024, ratio: 1, flops: 1000), Self.row("sparse", batch: 1024, ratio: 0.2, flops: 190)]))
        #expect(!rate.line.contains("FLOPs"), "\(rate.line)")
    }

    @Test func rateShareIsAgainstTheDenseRowOfTheSameShapeBatchAndThreads() throws {
        let rows = [
            Self.row("dense", batch: 1024, ratio: 1, rate: 200),
            Self.row("dense", batch: 1024, ratio: 1, rate: 400, threads: 2),
            Self.row("sparse", batch: 1024, ratio: 0.2, rate: 180),              // 90 %: met
            Self.row("sparse", batch: 1024, ratio: 0.2, rate: 320, threads: 2),  // 80 % of 400
        ]
        let verdict = try #require(try Self.target("block-sparse GFLOP/s ≥ 85 %").check(rows))
        #expect(verdict.met == 1 && verdict.rows == 2)
        #expect(abs(verdict.worstValue - 0.8) < 1e-12)
        #expect(verdict.line.contains("worst 80.0 % (1024→4096, batch 1024, 2 threads)"), "\(verdict.line)")
    }

    /// Where dense-blocks (every block on the block-sparse kernels) was the faster dense layer,
    /// the GFLOP/s share is against it, not against OpenBLAS's slower `dense` row.
    @Test func rateShareIsAgainstTheFasterDenseLayer() throws {
        let rows = [
            Self.row("dense", batch: 1024, ratio: 1.05, rate: 190, baseline: "dense-blocks"),
            Self.row("dense-blocks", batch: 1024, ratio: 1, rate: 200, baseline: "dense-blocks"),
            Self.row("sparse", batch: 1024, ratio: 0.2, rate: 175, baseline: "dense-blocks"),   // 87.5 % of 200, 92 % of 190
        ]
        let verdict = try #require(try Self.target("block-sparse GFLOP/s ≥ 85 %").check(rows))
        #expect(abs(verdict.worstValue - 0.875) < 1e-12)
    }

    @Test func noApplicableRowsGivesNoVerdict() throws {
        let rows = [Self.row("sparse", batch: 512, ratio: 0.3)]
        for target in LayerSpeedTarget.issue11(rank: 64) { #expect(target.check(rows) == nil, "\(target.label)") }
        #expect(LayerSpeedTarget.report(rows, rank: 64, machine: "m").isEmpty)
    }

    @Test func labelsStateTheBoundsTheyCheck() {
        #expect(LayerSpeedTarget.issue11(rank: 64).map(\.label) == [
            "block-sparse f+b ≤ 0.22× dense, batch ≥ 1024",
            "block-sparse GFLOP/s ≥ 85 % of dense, batch ≥ 1024",
            "block-sparse f+b ≤ 0.50× dense, batch ≤ 64",
            "Pixelfly r64 f+b ≤ 0.30× dense, batch ≥ 1024",
            "Pixelfly r64 f+b ≤ 0.50× dense, batch ≤ 64",
        ])
    }

    @Test func pixelflyTargetsOnlyAtRank64() {
        #expect(LayerSpeedTarget.issue11(rank: 64).filter { $0.kind == "pixelfly" }.count == 2)
        #expect(LayerSpeedTarget.issue11(rank: 32).allSatisfy { $0.kind != "pixelfly" })
    }

    struct Row: Decodable {
        var batch: Int
        var kind: String
        var forwardBackwardRatio: Double
    }

    struct Document: Decodable { var results: [Row] }

    /// The command prints the verdicts of the rows it wrote.
    @Test func layersCommandPrintsTheVerdictsOfItsRows() throws {
        let folder = try TemporaryDirectory("layer-targets")
        let json = folder.file("layers.json")
        let outcome = try BenchProcess.run(["layers", "--shapes", "256x1024", "--batches", "64", "1024", "--threads", "1",
                                            "--kinds", "sparse", "--repetitions", "1", "--warmup", "0",
                                            "--checked-rows", "2", "--json", json, "--allow-debug"], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let rows = try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: json))).results
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("Speed targets on this run (") && $0.contains("OpenBLAS") })
        #expect(Set(rows.map(\.kind)) == ["dense", "dense-blocks", "sparse"])
        #expect(rows.filter { $0.kind.hasPrefix("dense") }.map(\.forwardBackwardRatio).min() == 1)
        let large = rows.filter { $0.kind == "sparse" && $0.batch >= 1024 }.map(\.forwardBackwardRatio)
        let line = try #require(lines.first { $0.contains("block-sparse f+b ≤ 0.22× dense, batch ≥ 1024:") })
        #expect(line.contains(": \(large.filter { $0 <= 0.22 }.count) of \(large.count) rows; worst "
            + String(format: "%.3f×", large.max() ?? .nan)), "\(line) vs \(large)")
    }
}
