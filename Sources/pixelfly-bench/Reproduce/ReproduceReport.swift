import Foundation

/// Everything `reproduce` measured: summary.json (with the environment block), summary.md and
/// one SVG per family plus the sweep's Pareto plot.
struct ReproduceReport: Encodable {
    var environment: RunEnvironment
    var plan: ReproducePlan
    var threads: Int
    var families: [FamilyComparison]
    var sweep: DensitySweep?
    var pytorch: PyTorchBaseline?
    var totalSeconds: Double
    /// `ReproduceEstimate`'s plan for the sections run (idle machine, 2 threads), seconds.
    var plannedSeconds: Double
    /// The load average when the run ended (the environment block has it at the start).
    var finalLoadAverage: String

    /// The environment is written once, in the document's envelope.
    enum CodingKeys: String, CodingKey { case plan, threads, families, sweep, pytorch, totalSeconds, plannedSeconds, finalLoadAverage }

    func write(to folder: ResultsFolder, command: String) throws {
        try folder.writeJSON("summary.json", ResultDocument(
            command: command, environment: environment,
            configuration: ["quick": "\(plan.quick)", "seeds": plan.seeds.map(String.init).joined(separator: ","),
                            "threads": "\(threads)"],
            results: self))
        try folder.writeText("summary.md", markdown(command: command))
        for family in families { try folder.writeText("\(family.family.key)-quality-vs-step.svg", family.plot.svg) }
        if let sweep { try folder.writeText("sweep-pareto.svg", sweep.plot.svg) }
    }

    /// The files `write` produces.
    var figureNames: [String] {
        families.map { "\($0.family.key)-quality-vs-step.svg" } + (sweep == nil ? [] : ["sweep-pareto.svg"])
    }

    /// The arm's step speed-up in words, against the family's target when it has one. The
    /// second dense arm (`ReproduceArm.denseBlocksName`) is a baseline, so no target applies to it.
    static func speedText(_ arm: ArmSummary, target: Double?) -> String {
        let mean = arm.speedup.mean, fastest = arm.fastestRunSpeedup
        let words = mean >= 1 ? "\(format(mean, 2))× faster" : "\(format(1 / mean, 2))× slower"
        let isBaseline = arm.arm == ReproduceArm.denseBlocksName
        var text = (isBaseline ? "A second dense baseline, the same model on the block-sparse kernels: step " : "Step ")
            + "\(words) than the faster dense (mean of the per-seed ratios \(format(mean, 2))×; \(format(fastest, 2))× between each arm's fastest run)"
        if let target, !isBaseline {
            let met = [mean, fastest].filter { $0 >= target }.count
            text += met == 2 ? ": the ≥ \(format(target, 1))× target is met on both ratios"
                : met == 1 ? ": the ≥ \(format(target, 1))× target is met on one ratio only (\(mean >= target ? "mean" : "fastest runs"))"
                : ": the ≥ \(format(target, 1))× target is not met"
        }
        return text + "."
    }

    func markdown(command: String) -> String {
        var text = """
        # pixelfly-bench reproduce\(plan.quick ? " (--quick: shortened training, not the full run)" : "")

        `\(command)` — \(environment.date), commit \(environment.gitCommit), \(environment.buildConfiguration) build.
        CPU \(environment.cpu), \(environment.cores); OpenBLAS kernel family \(environment.openBLASCore)
        (`openblas_get_corename`; `OPENBLAS_CORETYPE` \(environment.openBLASCoreTypeVariable ?? "unset"); build: \(environment.openBLASConfiguration)),
        \(threads) compute threads × \(environment.openBLASThreadsPerCall) OpenBLAS thread per call;
        load average at start \(environment.hostLoadAverage), at the end \(finalLoadAverage). Total \(format(totalSeconds, 0)) s
        (planned ≈ \(format(plannedSeconds, 0)) s on an idle machine at 2 threads).

        To reproduce: `make reproduce` (full run; `make reproduce REPRODUCE_ARGS=--quick` for the shortened one), which runs
        `swift run -c release pixelfly-bench reproduce` with the OpenBLAS kernel family the bench chooses
        (`BENCH_CORETYPE=…` pins one). Quality figures repeat exactly on the same kernel family and thread count.

        Seeds \(plan.seeds.map(String.init).joined(separator: ", ")) (initialisation and data order); every arm of a seed sees
        the same examples in the same order. Each run is its own child process (`pixelfly-bench train … --json`), so step
        times are what a user's run would see; the speed-up of a seed is the faster dense run's median step time
        (`DenseLinear` or dense-blocks, the same model on the block-sparse kernels) ÷ the arm's; the arms of a seed
        take turns, 20 steps at a time (`train --step-gate`), so their step times come from the same minutes; the sweep's
        points take turns the same way with the Mixer's three arms retrained at the first seed, and divide by the faster
        of those two dense runs; quality differences are against the `DenseLinear` arm. The families' configurations were fixed before any result was seen;
        the sweep's rank-0 points were added after the first full run.

        """
        for f in families {
            text += """

            ## \(f.family.title)

            `train \(f.family.shape.trainArguments.joined(separator: " ")) \(f.family.schedule.joined(separator: " "))` plus per arm:
            \(f.family.arms.map { "- \($0.name): `\($0.arguments.joined(separator: " "))`" }.joined(separator: "\n"))

            \(f.table.markdown)

            \(f.arms.dropFirst().map { "- **\($0.arm)**: \($0.verdictText). \(Self.speedText($0, target: f.family.speedupTarget))" }.joined(separator: "\n"))

            ![\(f.family.metric.label) vs step time](\(f.family.key)-quality-vs-step.svg)

            Runs (load average at each run's start):

            \(f.runs.map { "- \($0.arm), seed \($0.seed): \(format($0.medianStepSeconds * 1e3, 1)) ms/step (Q1–Q3 \(format($0.firstQuartileStepSeconds * 1e3, 1))–\(format($0.thirdQuartileStepSeconds * 1e3, 1))), \(f.family.metric.label) \(format($0.quality, 4)), \(format($0.wallSeconds, 0)) s wall, load \($0.loadAverage)" }.joined(separator: "\n"))

            """
        }
        if let sweep {
            text += """

            ## Density sweep (Mixer, seed \(sweep.seed))

            \(sweep.table.markdown)

            ![accuracy vs step time](sweep-pareto.svg)

            """
        }
        if let pytorch {
            text += "\n## Side by side with PyTorch (dense, CPU, \(threads) threads)\n\n"
            if let reason = pytorch.skipped {
                text += "Skipped: \(reason).\n"
            } else {
                text += pytorch.table(families).markdown + "\n\n" + pytorch.method + "\n"
                for failure in pytorch.failures { text += "\nA PyTorch run failed: \(failure)\n" }
            }
        }
        return text
    }
}
