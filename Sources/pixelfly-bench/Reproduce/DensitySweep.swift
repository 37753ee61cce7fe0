import PixelflyTraining
import PixelflyCore

/// (5) The density sweep on the Mixer (one seed): each Pixelfly, block-sparse (rank 0) or
/// `pixelflyBudget` setting is a point of test accuracy against median step time, with the
/// dense model and the family's Pixelfly arm of the same seed, its linear FLOPs per step as a
/// fraction of dense, and the Pareto front.
struct DensitySweep: Codable {
    struct Point: Codable {
        var name: String
        var group: SweepArm.Group
        var run: ArmRun
        /// Linear-layer FLOPs of one training step (forward + backward) ÷ the dense model's.
        var linearFLOPFraction: Double
        var speedup: Double
        var onParetoFront: Bool
    }

    var seed: UInt64
    var points: [Point]

    /// Trains the sweep arms at `seed` with the Mixer family's shape and schedule; `dense` and
    /// `pixelfly` are that family's runs at the same seed.
    static func run(_ arms: [SweepArm], family: ReproduceFamily, seed: UInt64, dense: ArmRun, pixelfly: ArmRun,
                    estimate: ReproduceEstimate, runner: inout ReproduceRunner) throws -> DensitySweep {
        var named: [(String, SweepArm.Group, ArmRun)] = [("dense", .dense, dense), ("K2 r32 b48 (Pixelfly arm)", .pixelfly, pixelfly)]
        for sweepArm in arms {
            let arm = sweepArm.arm
            let child = ReproduceRunner.ArmChild(arm: arm.name, arguments: family.arguments(arm, seed: seed),
                                                 planned: estimate.runSeconds(family, arm: arm.name))
            // A group of one: the sweep points train one after another (the runner returns one run per child).
            named.append((arm.name, sweepArm.group, try runner.run(family: "sweep", seed: seed, arms: [child], metric: family.metric)[0]))
        }
        let front = Set(try ParetoFront.indices(costs: named.map(\.2.medianStepSeconds), qualities: named.map(\.2.quality)))
        let denseFLOPs = try linearFLOPs(dense, batch: family.shape.batchSize, folder: runner.folder)
        let points = try named.enumerated().map { index, item in
            Point(name: item.0, group: item.1, run: item.2,
                  linearFLOPFraction: try linearFLOPs(item.2, batch: family.shape.batchSize, folder: runner.folder) / denseFLOPs,
                  speedup: dense.medianStepSeconds / item.2.medianStepSeconds, onParetoFront: front.contains(index))
        }
        return DensitySweep(seed: seed, points: points)
    }

    /// Linear FLOPs per training step of the run's Mixer, read back from its stored configuration.
    private static func linearFLOPs(_ run: ArmRun, batch: Int, folder: ResultsFolder) throws -> Double {
        let document = try ChildTrainingRun.read(folder.file(run.resultFile))
        guard case .mixer(let configuration) = document.results.configuration.model else {
            throw ShapeError("DensitySweep", "\(run.resultFile) is not an MLP-Mixer run")
        }
        return try DefaultTrainingSection.linearFLOPsPerStep(configuration, batch: batch)
    }

    var table: Table {
        var table = Table(["setting", "kind", "block linears", "parameters", "linear FLOPs ÷ dense", "ms/step (median)", "speed-up",
                           "test acc %", "Pareto front"])
        for p in points.sorted(by: { $0.run.medianStepSeconds < $1.run.medianStepSeconds }) {
            table.append([p.name, p.group.legend, p.run.linear, "\(p.run.parameters)", format(p.linearFLOPFraction, 3),
                          format(p.run.medianStepSeconds * 1e3, 1), format(p.speedup, 2) + "×",
                          format(p.run.quality, 2), p.onParetoFront ? "yes" : ""])
        }
        return table
    }

    /// Accuracy against step time: dense marked on its own, one colour per kind of layer
    /// (Pixelfly, block-sparse rank 0, `pixelflyBudget`), every setting labelled, the front joined.
    var plot: SVGPlot {
        var plot = SVGPlot(title: "Mixer density sweep (seed \(seed)): accuracy vs step time",
                           xLabel: "median training step (ms)", yLabel: "test accuracy %")
        for group in SweepArm.Group.allCases {
            let mine = points.filter { $0.group == group }
            guard !mine.isEmpty else { continue }
            plot.add(group.legend, mine.map { (x: $0.run.medianStepSeconds * 1e3, y: $0.run.quality) }, connected: false,
                     labels: mine.map { $0.name.replacingOccurrences(of: " (Pixelfly arm)", with: "*") })
        }
        plot.add("Pareto front", points.filter(\.onParetoFront).sorted { $0.run.medianStepSeconds < $1.run.medianStepSeconds }
            .map { (x: $0.run.medianStepSeconds * 1e3, y: $0.run.quality) })
        return plot
    }
}
