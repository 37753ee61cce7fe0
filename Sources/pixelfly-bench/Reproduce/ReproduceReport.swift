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
    /// The load average when the run ended (the environment block has it at the start).
    var finalLoadAverage: String

    /// The environment is written once, in the document's envelope.
    enum CodingKeys: String, CodingKey { case plan, threads, families, sweep, pytorch, totalSeconds, finalLoadAverage }

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

    func markdown(command: String) -> String {
        var text = """
        # pixelfly-bench reproduce\(plan.quick ? " (--quick: shortened training, not the full run)" : "")

        `\(command)` — \(environment.date), commit \(environment.gitCommit), \(environment.buildConfiguration) build.
        CPU \(environment.cpuModel) (\(environment.logicalCores) logical cores); OpenBLAS core \(environment.openBLASCore),
        \(threads) compute threads × \(environment.openBLASThreadsPerCall) OpenBLAS thread per call (`OPENBLAS_CORETYPE` \(environment.openBLASCoreTypeVariable ?? "unset"));
        load average at start \(environment.hostLoadAverage), at the end \(finalLoadAverage). Total \(format(totalSeconds, 0)) s.

        Seeds \(plan.seeds.map(String.init).joined(separator: ", ")) (initialisation and data order); every arm of a seed sees
        the same examples in the same order. Each run is its own child process (`pixelfly-bench train … --json`), so step
        times are what a user's run would see; the speed-up of a seed is dense ÷ arm median step time of two runs made
        back to back (not interleaved step by step). Configurations were fixed before any result was seen.

        """
        for f in families {
            text += """

            ## \(f.family.title)

            `train \(f.family.shape.trainArguments.joined(separator: " ")) \(f.family.schedule.joined(separator: " "))` plus per arm:
            \(f.family.arms.map { "- \($0.name): `\($0.arguments.joined(separator: " "))`" }.joined(separator: "\n"))

            \(f.table.markdown)

            \(f.arms.dropFirst().map { "- **\($0.arm)**: \($0.verdictText); step \(format($0.speedup.mean, 2))× faster (mean of seeds; \(format($0.fastestRunSpeedup, 2))× between each arm's fastest run)." }.joined(separator: "\n"))

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
                text += pytorch.table(families).markdown + "\n\nPyTorch \(pytorch.steps.values.first?.torchVersion ?? "?"); median of each model's timed steps after 3 warm-up steps (random inputs, same shapes, AdamW, clipping).\n"
            }
        }
        return text
    }
}
