import PixelflyTraining
import PixelflyCore

/// (5) The density sweep on the Mixer (one seed): each Pixelfly, block-sparse (rank 0) or
/// `pixelflyBudget` setting is a point of test accuracy against median step time, with the
/// Mixer family's own arms (`DenseLinear`, dense-blocks and Pixelfly) as references, its linear
/// FLOPs per step as a fraction of dense, and the Pareto front.
///
/// The references and the points train as one interleaved group (`ReproduceRunner`: every
/// child takes turns, 20 steps at a time), so every point's speed-up divides step times drawn
/// from the same minutes, against the faster of the two dense runs, as the family tables do.
/// The references repeat the Mixer family's runs of the same seed (same configuration, seed and
/// data order, so the same quality to the last bit); retraining them costs three runs of the
/// sweep's sixteen and keeps the sweep independent of the family section (`--only sweep`).
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

    /// Trains the Mixer family's arms and the sweep arms at `seed` as one interleaved group, with
    /// the family's shape and schedule.
    static func run(_ arms: [SweepArm], family: ReproduceFamily, seed: UInt64,
                    estimate: ReproduceEstimate, runner: inout ReproduceRunner) throws -> DensitySweep {
        let references = try family.arms.map { arm in
            let group = try referenceGroup(arm, family: family)
            return (name: referenceName(arm, group: group), group: group, arm: arm)
        }
        let named = references + arms.map { (name: $0.arm.name, group: $0.group, arm: $0.arm) }
        let children = named.map { item in
            ReproduceRunner.ArmChild(arm: item.name, arguments: family.arguments(item.arm, seed: seed),
                                     planned: estimate.runSeconds(family, arm: item.arm.name))
        }
        let runs = try runner.run(family: "sweep", seed: seed, arms: children, metric: family.metric)
        let denseRun = runs[0]
        let baseline = zip(named, runs).filter { $0.0.group == .dense }.map(\.1.medianStepSeconds).min() ?? denseRun.medianStepSeconds
        let front = Set(try ParetoFront.indices(costs: runs.map(\.medianStepSeconds), qualities: runs.map(\.quality)))
        let denseFLOPs = try linearFLOPs(denseRun, batch: family.shape.batchSize, folder: runner.folder)
        let points = try zip(named, runs).enumerated().map { index, pair in
            let (item, run) = pair
            return Point(name: item.name, group: item.group, run: run,
                         linearFLOPFraction: try linearFLOPs(run, batch: family.shape.batchSize, folder: runner.folder) / denseFLOPs,
                         speedup: baseline / run.medianStepSeconds, onParetoFront: front.contains(index))
        }
        return DensitySweep(seed: seed, points: points)
    }

    /// How the sweep names a Mixer family arm: dense ones as they are, the Pixelfly arm after its
    /// setting like the sweep's points ("K2 r32 b48 (Pixelfly arm)").
    static func referenceName(_ arm: ReproduceArm, group: SweepArm.Group) -> String {
        guard group == .pixelfly else { return arm.name }
        func value(_ flag: String) -> String {
            guard let index = arm.arguments.firstIndex(of: flag), index + 1 < arm.arguments.count else { return "?" }
            return arm.arguments[index + 1]
        }
        return "K\(value("--factors")) r\(value("--rank")) b\(value("--block-size")) (Pixelfly arm)"
    }

    /// The plot's group of a Mixer family arm: its first arm (`DenseLinear`) and dense-blocks are
    /// dense, its Pixelfly arm Pixelfly; any other arm is refused by name.
    static func referenceGroup(_ arm: ReproduceArm, family: ReproduceFamily) throws -> SweepArm.Group {
        if arm.name == family.arms.first?.name || arm.name == ReproduceArm.denseBlocksName { return .dense }
        if arm.name == ReproduceArm.pixelflyName { return .pixelfly }
        throw ConfigurationError("DensitySweep", "the \(family.key) family's arm \(arm.name) has no place in the sweep; "
                                 + "its arms must be dense, \(ReproduceArm.denseBlocksName) and \(ReproduceArm.pixelflyName)")
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
