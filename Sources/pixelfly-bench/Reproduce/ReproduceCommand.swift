import ArgumentParser
import Foundation
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// `pixelfly-bench reproduce`: the paper's claims on three model families, several seeds and
/// a density sweep, with PyTorch's dense step time alongside.
///
/// 1. byte-level GPT on Debian's `fortunes` (held-out files): dense vs Pixelfly vs Pixelfly +
///    flat-butterfly attention scores — held-out bits per byte and step speed-up;
/// 2. ViT on Fashion-MNIST: dense vs Pixelfly;
/// 3. the default job's MLP-Mixer: dense vs Pixelfly;
/// 4. every arm for each seed: mean ± sd and the paired dense − Pixelfly difference with a
///    95 % t-interval, and what it says about "equal quality";
/// 5. a density sweep on the Mixer with a Pareto plot;
/// and `scripts/pytorch-baseline.py` when PyTorch is installed. Every training run is a child
/// process (`train … --json`); the arms of one family and seed take turns, 20 steps at a time
/// (`ReproduceRunner`), with PyTorch's dense model taking 5 steps in every round
/// (`PyTorchBaseline`), and so do the sweep's points with their own dense and Pixelfly
/// references (`DensitySweep`). The configurations are in `ReproducePlan`.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "GPT, ViT and Mixer, dense vs Pixelfly, three seeds, a density sweep, PyTorch side by side.",
        discussion: "The job prints its plan first (--plan-only prints only that): about 16 min for the full run on an idle 2-core machine at 2 threads (measured: 17 min 21 s), 5 min for --quick (same structure, shorter training). On 2 cores shared with other builds (load 2–10) the first full run took 61 min and --quick 9–10 min.")

    @Flag(help: "Same models, arms, seeds and sweep, shorter training and smaller held-out sets.")
    var quick = false

    @Option(help: "Folder for summary.json, summary.md, the SVG figures and runs/ (each child's JSON).")
    var results: String = "results/reproduce"

    @Option(help: "Seeds per arm (0, 1, …); at least 2 for an interval.")
    var seeds: Int = 3

    @Option(help: "Compute threads of every run (default: all cores); PyTorch uses the same.")
    var threads: Int?

    @Option(help: "Comma-separated sections to run: gpt, vit, mixer, sweep (trains its own Mixer references), pytorch.")
    var only: String = "gpt,vit,mixer,sweep,pytorch"

    @Option(help: "Python interpreter for scripts/pytorch-baseline.py.")
    var python: String = "python3"

    @Flag(help: "Print the plan (runs and estimated minutes on an idle machine) and exit without training.")
    var planOnly = false

    @Flag(help: "Allow a debug build (timings meaningless; for testing the bench itself).")
    var allowDebug = false

    static let sections: Set<String> = ["gpt", "vit", "mixer", "sweep", "pytorch"]

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1 (2 or more for an interval), got \(seeds)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        let chosen = selectedSections
        let unknown = chosen.subtracting(Self.sections)
        guard unknown.isEmpty, !chosen.isEmpty else {
            throw ValidationError("--only takes a comma-separated subset of \(Self.sections.sorted().joined(separator: ", ")); got \(only)")
        }
        #if DEBUG
        guard allowDebug || planOnly else {
            throw ValidationError("this is a debug build; timings would be meaningless. Use `swift run -c release pixelfly-bench reproduce`, or pass --allow-debug.")
        }
        #endif
    }

    var selectedSections: Set<String> {
        Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    func run() throws {
        let start = monotonicSeconds()
        if let threads { try ComputeThreads.setCount(threads) }
        let threadCount = ComputeThreads.count
        let environment = RunEnvironment.current()
        print(environment.header)
        let sections = selectedSections
        let plan = ReproducePlan.make(quick: quick, seeds: seeds)
        let families = plan.families.filter { sections.contains($0.key) }
        guard let mixer = plan.families.first(where: { $0.key == "mixer" }) else {
            throw ValidationError("the plan has no Mixer family, which the sweep trains with")
        }
        // The sweep retrains the Mixer family's arms at the first seed as its references (`DensitySweep`).
        let sweepRuns = sections.contains("sweep") ? mixer.arms.count + plan.sweep.count : 0
        let runCount = families.reduce(0) { $0 + $1.arms.count * plan.seeds.count } + sweepRuns
        let estimate = ReproduceEstimate()
        let timedSteps = quick ? 10 : 30
        var planned: [(String, Double)] = families.map { family in
            (family.key, Double(plan.seeds.count) * family.arms.reduce(0) { $0 + estimate.runSeconds(family, arm: $1.name) })
        }
        if sections.contains("sweep") {
            let arms = mixer.arms.map(\.name) + plan.sweep.map(\.arm.name)
            planned.append(("sweep", arms.reduce(0) { $0 + estimate.runSeconds(mixer, arm: $1) }))
        }
        if sections.contains("pytorch") {
            let seconds = families.isEmpty ? estimate.pytorchSeconds(plan.families, timedSteps: timedSteps)
                : estimate.pytorchCompanionSeconds(families, seeds: plan.seeds.count, stepsPerTurn: PyTorchBaseline.stepsPerTurn,
                                                   turnSteps: ReproduceRunner.interleaveSteps)
            planned.append(("pytorch", seconds))
        }
        print("\(quick ? "quick" : "full") run: \(runCount) training runs in child processes, \(threadCount) threads, seeds \(plan.seeds)")
        print(ReproduceEstimate.planText(sections: planned))
        fflush(nil)
        if planOnly { return }
        let folder = try ResultsFolder(results)
        var runner = try ReproduceRunner(folder: folder, threads: threadCount, totalRuns: runCount,
                                         plannedSeconds: planned.reduce(0) { $0 + $1.1 })
        var report = ReproduceReport(environment: environment, plan: plan, threads: threadCount, families: [],
                                     sweep: nil, pytorch: nil, totalSeconds: 0, plannedSeconds: runner.plannedSeconds,
                                     finalLoadAverage: "")
        let command = CommandLine.arguments.joined(separator: " ")
        func save() throws {
            report.totalSeconds = monotonicSeconds() - start
            report.finalLoadAverage = RunEnvironment.current().hostLoadAverage
            try report.write(to: folder, command: command)
        }

        // PyTorch takes turns with every family group it can (`PyTorchBaseline`).
        var pytorch: PyTorchBaseline?
        if sections.contains("pytorch"), !families.isEmpty {
            pytorch = PyTorchStep.unavailability(python: python).map(PyTorchBaseline.init(skipped:)) ?? PyTorchBaseline(interleaved: true)
        }
        for family in families {
            print("\n== \(family.title) — \(format(runner.elapsed, 0)) s elapsed")
            fflush(nil)
            let companion = pytorch.flatMap { $0.skipped == nil ? PyTorchBaseline.companion(family, threads: threadCount, python: python) : nil }
            let (comparison, outputs) = try FamilyComparison.run(family, seeds: plan.seeds, estimate: estimate, runner: &runner,
                                                                 companion: companion)
            pytorch?.record(outputs, family: family)
            print(comparison.table.text)
            for arm in comparison.arms.dropFirst() { print("\(arm.arm): \(arm.verdictText)") }
            fflush(nil)
            report.families.append(comparison)
            try save()
        }
        if sections.contains("sweep") {
            print("\n== Density sweep on the Mixer (seed \(plan.seeds[0])) — \(format(runner.elapsed, 0)) s elapsed")
            fflush(nil)
            report.sweep = try DensitySweep.run(plan.sweep, family: mixer, seed: plan.seeds[0], estimate: estimate, runner: &runner)
            print(report.sweep!.table.text)
            try save()
        }
        if sections.contains("pytorch") {
            print("\n== PyTorch dense baseline (\(threadCount) threads) — \(format(runner.elapsed, 0)) s elapsed")
            fflush(nil)
            let baseline = pytorch
                ?? PyTorchBaseline.runAlone(families: plan.families, threads: threadCount, timedSteps: timedSteps, python: python)
            if let reason = baseline.skipped {
                print("skipped: \(reason)")
            } else {
                print(baseline.table(report.families).text)
                print(baseline.method)
                for failure in baseline.failures { print("a PyTorch run failed: \(failure)") }
            }
            report.pytorch = baseline
        }
        try save()
        print("\nwrote \(folder.path)/summary.json, summary.md, \(report.figureNames.joined(separator: ", ")) and runs/ in \(format(report.totalSeconds, 0)) s")
    }
}
