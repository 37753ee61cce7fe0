import PixelflyTraining

/// One arm of a family over all seeds: quality and step time as mean ± standard deviation,
/// the per-seed speed-up over dense (the faster of the seed's two dense runs, `DenseLinear` and
/// `dense-blocks`; the arms of a seed took turns, 20 steps at a time, each in its own process), and the paired
/// difference dense − arm (arm 0, `DenseLinear`) with its 95 % t-interval.
struct ArmSummary: Codable {
    var arm: String
    var linear: String
    var parameters: Int
    var quality: SampleSummary
    var stepMilliseconds: SampleSummary
    var speedupPerSeed: [Double]
    var speedup: SampleSummary
    /// Fastest dense run's median step (either dense arm) ÷ this arm's fastest: on a shared machine the least
    /// disturbed run of each arm, so less sensitive to other load than the per-seed ratios.
    var fastestRunSpeedup: Double
    /// dense − arm, per seed, in the metric's units (nil for dense itself, or with one seed).
    var differenceFromDense: PairedDifference?
    /// Half-width of "equal quality" in the metric's units.
    var margin: Double
    var verdict: EquivalenceVerdict?
    var verdictText: String
}

/// A family's runs (arms × seeds) and their summaries.
struct FamilyComparison: Codable {
    var family: ReproduceFamily
    var runs: [ArmRun]
    var arms: [ArmSummary]

    /// Trains every arm for every seed, seed-major: the arms of a seed take turns as one
    /// interleaved group (`ReproduceRunner`), then the next seed's. With `companion`, each
    /// group has it take a turn in every round too (PyTorch's dense step of the family's model);
    /// its outputs come back one per seed.
    static func run(_ family: ReproduceFamily, seeds: [UInt64], estimate: ReproduceEstimate, runner: inout ReproduceRunner,
                    companion: InterleavedChildTrainings.Companion? = nil)
        throws -> (comparison: FamilyComparison, companion: [InterleavedChildTrainings.CompanionOutput]) {
        var runs: [ArmRun] = []
        var outputs: [InterleavedChildTrainings.CompanionOutput] = []
        for seed in seeds {
            let arms = family.arms.map {
                ReproduceRunner.ArmChild(arm: $0.name, arguments: family.arguments($0, seed: seed),
                                         planned: estimate.runSeconds(family, arm: $0.name))
            }
            let companionPlanned = companion == nil ? 0
                : estimate.pytorchCompanionSeconds([family], seeds: 1, stepsPerTurn: PyTorchBaseline.stepsPerTurn,
                                                   turnSteps: ReproduceRunner.interleaveSteps)
            let group = try runner.run(family: family.key, seed: seed, arms: arms, metric: family.metric, companion: companion,
                                       companionPlanned: companionPlanned)
            runs += group.runs
            if let output = group.companion { outputs.append(output) }
        }
        return (try FamilyComparison(family: family, runs: runs), outputs)
    }

    init(family: ReproduceFamily, runs: [ArmRun]) throws {
        self.family = family
        self.runs = runs
        let denseName = family.arms[0].name
        let dense = runs.filter { $0.arm == denseName }.sorted { $0.seed < $1.seed }
        let denseQuality = try SampleSummary(dense.map(\.quality))
        let margin = family.metric.margin(denseMean: denseQuality.mean)
        // The speed baseline of a seed: its faster dense run (`DenseLinear` or dense-blocks).
        let denseRuns = runs.filter { $0.arm == denseName || $0.arm == ReproduceArm.denseBlocksName }
        let fastestDense = dense.map { d in denseRuns.filter { $0.seed == d.seed }.map(\.medianStepSeconds).min() ?? d.medianStepSeconds }
        arms = try family.arms.map { arm in
            let mine = runs.filter { $0.arm == arm.name }.sorted { $0.seed < $1.seed }
            let speedups = zip(fastestDense, mine).map { $0 / $1.medianStepSeconds }
            let isDense = arm.name == denseName
            let difference = isDense || mine.count < 2 ? nil
                : try PairedDifference(dense.map(\.quality), minus: mine.map(\.quality))
            return ArmSummary(
                arm: arm.name, linear: mine.first?.linear ?? "", parameters: mine.first?.parameters ?? 0,
                quality: try SampleSummary(mine.map(\.quality)),
                stepMilliseconds: try SampleSummary(mine.map { $0.medianStepSeconds * 1e3 }),
                speedupPerSeed: speedups, speedup: try SampleSummary(speedups),
                fastestRunSpeedup: (denseRuns.map(\.medianStepSeconds).min() ?? .nan) / (mine.map(\.medianStepSeconds).min() ?? .nan),
                differenceFromDense: difference, margin: margin, verdict: difference?.verdict(margin: margin),
                verdictText: isDense ? "reference" : Self.verdictText(difference, metric: family.metric, margin: margin, arm: arm.name))
        }
    }

    /// What the interval says about "equal quality", in words. d = dense − arm; the arm's
    /// worse side is d > 0 for accuracy and d < 0 for a loss. Besides the verdict it says
    /// whether the arm is shown to be no worse than dense by more than the margin (the worse-side
    /// end of the interval inside the margin), which is what the issue's targets ask.
    static func verdictText(_ d: PairedDifference?, metric: QualityMetric, margin: Double, arm: String) -> String {
        guard let d else { return "one seed: no interval" }
        let digits = metric == .heldOutBitsPerByte ? 4 : 2
        let interval = "dense − \(arm) = \(signed(d.summary.mean, digits)) \(metric.unit), 95 % interval "
            + "[\(signed(d.lower, digits)), \(signed(d.upper, digits))]; margin ±\(format(margin, digits)) (\(metric.marginText))"
        let armWorse = metric.higherIsBetter ? d.summary.mean > 0 : d.summary.mean < 0
        // The end of the interval on the arm's worse side, as a (signed) amount by which the arm is worse.
        let worstCase = metric.higherIsBetter ? d.upper : -d.lower
        let noWorseThanMargin = worstCase < margin
        let bestCase = metric.higherIsBetter ? -d.lower : d.upper
        let betterSideBeyond = bestCase >= margin
        let wholeIntervalBeyond = d.lower > margin || d.upper < -margin
        switch d.verdict(margin: margin) {
        case .equivalent:
            return interval + ": equal quality — the whole interval lies inside the margin"
        case .smallButReal:
            return interval + ": \(arm) is \(armWorse ? "worse" : "better"), but by less than the margin — equal quality within the margin"
        case .different where armWorse:
            return interval + ": \(arm) is worse" + (wholeIntervalBeyond ? " by more than the margin" : ", possibly by more than the margin")
                + " — equal quality is not shown"
        case .different:
            return interval + ": \(arm) is better" + (wholeIntervalBeyond ? " by more than the margin" : ", possibly by more than the margin")
                + " — not equal, but \(arm) is shown to be no worse than dense"
        case .inconclusive where noWorseThanMargin:
            return interval + ": not shown equal — the interval contains 0 and reaches beyond the margin on \(arm)'s better side only, "
                + "so \(arm) is no worse than dense by more than the margin, but could be better by more"
        case .inconclusive:
            return interval + ": not shown either way — the interval contains 0 and reaches beyond the margin on "
                + (betterSideBeyond ? "both sides" : "\(arm)'s worse side") + " (too few seeds or too short runs to claim equal quality)"
        }
    }

    /// Rows for the family table.
    var table: Table {
        let digits = family.metric == .heldOutBitsPerByte ? 4 : 2
        var table = Table(["arm", "block linears", "parameters", "ms/step (mean ± sd)", "speed-up (mean ± sd; per seed)",
                           "speed-up, fastest runs", "\(family.metric.label) (mean ± sd)", "dense − arm [95 % CI]", "equal quality?"])
        for a in arms {
            table.append([a.arm, a.linear, "\(a.parameters)",
                          format(a.stepMilliseconds.mean, 1) + " ± " + format(a.stepMilliseconds.standardDeviation, 1),
                          format(a.speedup.mean, 2) + "× ± " + format(a.speedup.standardDeviation, 2) + " ("
                              + a.speedupPerSeed.map { format($0, 2) }.joined(separator: ", ") + ")",
                          format(a.fastestRunSpeedup, 2) + "×",
                          format(a.quality.mean, digits) + " ± " + format(a.quality.standardDeviation, digits),
                          a.differenceFromDense.map { signed($0.summary.mean, digits) + " [" + signed($0.lower, digits) + ", "
                              + signed($0.upper, digits) + "]" } ?? "—",
                          a.verdict?.rawValue ?? (a.arm == arms.first?.arm ? "reference" : "—")])
        }
        return table
    }

    /// Quality against median step time, one point per seed, one series per arm.
    var plot: SVGPlot {
        var plot = SVGPlot(title: "\(family.title): \(family.metric.label) vs step time",
                           xLabel: "median training step (ms)", yLabel: family.metric.label)
        for arm in family.arms {
            let points = runs.filter { $0.arm == arm.name }.map { (x: $0.medianStepSeconds * 1e3, y: $0.quality) }
            plot.add(arm.name, points, connected: false, labels: runs.filter { $0.arm == arm.name }.map { "s\($0.seed)" })
        }
        return plot
    }
}

/// `value` with an explicit sign.
func signed(_ value: Double, _ digits: Int) -> String {
    (value >= 0 ? "+" : "") + format(value, digits)
}
