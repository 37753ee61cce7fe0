/// The up-front wall-time plan of `reproduce` on an idle machine at 2 compute threads, and the
/// pace against it as the job goes.
///
/// Cost model of one child run, with t its median training step on an idle machine:
///   seconds ≈ 2 + t · (training steps + evaluation batches / 3)
/// (2 s to start the process and load the data; an evaluation batch is a forward pass, about a
/// third of a training step). Evaluation batches: the image models evaluate once on the test
/// images in batches of the training batch size; the GPT evaluates every `--eval-interval`
/// steps on `--eval-batches` batches. The PyTorch side: per family, (timed + 3 warm-up steps) ×
/// the library's dense step, plus 4 s to import torch; as a companion, per group, its steps per
/// round × the group's rounds × the library's dense step, plus 4 s. Given each run's own median step, the
/// model reproduces the wall times of the first full run's 21 family runs with a mean error of
/// 5.5 % (worst 23 %, where the load changed during a run).
struct ReproduceEstimate {
    /// Median step times in ms on an idle machine (2 threads), keyed "family/arm"; sweep points
    /// under "mixer/…". Mixer dense and Pixelfly: the quiet default job (load 0.84, 2026-12-01
    /// 18:55 UTC). GPT: the fastest of the three seeds' runs in the `--quick` run of 19:07 UTC
    /// (load 3–6, notebooks-md/reproduce.md). ViT and the sweep points: that quick run's medians
    /// (the ViT's fastest seed) × 0.5, the ratio of the quiet Mixer steps to the quick run's
    /// (165 / 323 ms dense, 58 / 122 ms Pixelfly), rounded up.
    static let idleStepMilliseconds: [String: Double] = [
        "gpt/dense": 121, "gpt/Pixelfly": 56, "gpt/Pixelfly + butterfly attention": 55,
        "vit/dense": 116, "vit/Pixelfly": 47,
        "mixer/dense": 165, "mixer/Pixelfly": 58,
        "mixer/K1 r32 b48": 47, "mixer/K3 r32 b48": 69, "mixer/K2 r16 b48": 55, "mixer/K2 r64 b48": 72,
        "mixer/K2 r32 b32": 69, "mixer/K2 r32 b64": 75,
        "mixer/K1 r0 b48": 18, "mixer/K2 r0 b48": 22, "mixer/K3 r0 b48": 26, "mixer/K2 r0 b32": 32, "mixer/K2 r0 b64": 66,
        "mixer/budget 0.15": 25, "mixer/budget 0.30": 68,
    ]

    /// Estimated seconds of one child run of `arm` with `family`'s shape and schedule (an arm
    /// missing from the table is costed as the family's dense arm: an overestimate).
    func runSeconds(_ family: ReproduceFamily, arm: String) -> Double {
        let milliseconds = Self.idleStepMilliseconds["\(family.key)/\(arm)"] ?? Self.idleStepMilliseconds["\(family.key)/dense"] ?? 200
        return 2 + milliseconds / 1e3 * (Double(family.trainingSteps) + Double(family.evaluationBatches) / 3)
    }

    /// Estimated seconds of the PyTorch dense baseline over `families`, each timed alone.
    func pytorchSeconds(_ families: [ReproduceFamily], timedSteps: Int) -> Double {
        families.reduce(0) { $0 + 4 + Double(timedSteps + 3) * (Self.idleStepMilliseconds["\($1.key)/dense"] ?? 200) / 1e3 }
    }

    /// Estimated seconds PyTorch adds to `families`' groups (`seeds` each) as a companion:
    /// `stepsPerTurn` steps in each round of `turnSteps` training steps.
    func pytorchCompanionSeconds(_ families: [ReproduceFamily], seeds: Int, stepsPerTurn: Int, turnSteps: Int) -> Double {
        families.reduce(0) { total, family in
            let rounds = (family.trainingSteps + turnSteps - 1) / turnSteps
            let step = (Self.idleStepMilliseconds["\(family.key)/dense"] ?? 200) / 1e3
            return total + Double(seeds) * (4 + Double(rounds * stepsPerTurn) * step)
        }
    }

    /// One line per section and the total, for the job's opening lines. The table is the Zen 5's,
    /// so the line names that CPU: the Zen 4's full run took 2 421 s against 1 365 s planned
    /// (notebooks-md/reproduce.md), its steps about twice as long.
    static func planText(sections: [(String, Double)]) -> String {
        let total = sections.reduce(0) { $0 + $1.1 }
        return "plan (step times of an idle 2-core AMD EPYC Zen 5 at 2 threads; a slower CPU or a loaded machine takes longer, "
            + "e.g. 1.8× on a Zen 4): "
            + sections.map { "\($0.0) ≈ \(format($0.1 / 60, 1)) min" }.joined(separator: ", ")
            + "; total ≈ \(format(total / 60, 1)) min"
    }
}

extension ReproduceFamily {
    /// Training steps of one run, read from the schedule: `--steps`, or epochs × (training
    /// images ÷ batch size), 60 000 training images without `--train-limit`.
    var trainingSteps: Int {
        if let steps = scheduleValue("--steps") { return steps }
        return (scheduleValue("--epochs") ?? 1) * ((scheduleValue("--train-limit") ?? 60_000) / shape.batchSize)
    }

    /// Evaluation batches of one run: GPT (steps ÷ interval) × `--eval-batches`; image models
    /// ⌈test images ÷ batch size⌉, 10 000 test images without `--test-limit`.
    var evaluationBatches: Int {
        if let interval = scheduleValue("--eval-interval"), let batches = scheduleValue("--eval-batches") {
            return trainingSteps / max(interval, 1) * batches
        }
        let images = scheduleValue("--test-limit") ?? 10_000
        return (images + shape.batchSize - 1) / shape.batchSize
    }

    private func scheduleValue(_ flag: String) -> Int? {
        guard let index = schedule.firstIndex(of: flag), index + 1 < schedule.count else { return nil }
        return Int(schedule[index + 1])
    }
}
