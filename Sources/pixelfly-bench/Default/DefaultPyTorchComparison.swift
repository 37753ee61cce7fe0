import PixelflyCore

/// Section 4's comparison with what a user would otherwise run: the same dense Mixer (same
/// widths, batch and thread count) trained in PyTorch on the CPU (`PyTorchStep`, random inputs).
/// PyTorch takes a turn of `stepsPerTurn` steps in every round of the library's interleaved
/// trainings (a companion of `InterleavedChildTrainings`), so its step times come from the same
/// stretch of wall-clock time as theirs. Skipped, with the reason, where PyTorch is not
/// installed or its run fails; the library's trainings do not depend on it.
struct DefaultPyTorchComparison: Encodable {
    /// PyTorch's dense step ÷ the library's Pixelfly step must reach this (issue 11).
    static let target = 2.5
    /// PyTorch steps per round; the library's trainings run `DefaultTrainingSection.interleaveSteps`
    /// each. Five give each round's stretch of time a PyTorch sample at a quarter of a training's
    /// turn (100 steps, about 41 s, in the default job on the Zen 4 of kernel pass 46).
    static let stepsPerTurn = 5

    /// Why PyTorch was not timed; nil when it was.
    var skipped: String?
    /// PyTorch's steps, interleaved with the library's trainings.
    var step: PyTorchStep?
    /// PyTorch's dense median step ÷ the library's dense and Pixelfly median steps.
    var libraryDenseSpeedup: Double?
    var libraryPixelflySpeedup: Double?

    /// PyTorch's run as a companion of the section's trainings, or why it cannot run here.
    static func companion(_ options: DefaultTrainingOptions, threads: Int) -> Result<InterleavedChildTrainings.Companion, PyTorchStep.Unavailable> {
        if let reason = PyTorchStep.unavailability() { return .failure(.init(description: reason)) }
        let companion = PyTorchStep.companion(modelArguments: options.pytorchArguments, threads: threads,
                                              stepsPerTurn: stepsPerTurn, prefix: "   PyTorch | ")
        print("-- PyTorch: dense Mixer in PyTorch, \(stepsPerTurn) steps in each round, the first 3 untimed; "
              + "output lines start with \"PyTorch |\"")
        print("   companion: " + companion.arguments.joined(separator: " "))
        return .success(companion)
    }

    /// The comparison from the companion (or the reason there was none), its output and the trainings.
    static func complete(_ companion: Result<InterleavedChildTrainings.Companion, PyTorchStep.Unavailable>,
                         output: InterleavedChildTrainings.CompanionOutput?, training: DefaultTrainingSection) -> DefaultPyTorchComparison {
        let step: PyTorchStep
        switch (companion, output) {
        case (.failure(let reason), _):
            return DefaultPyTorchComparison(skipped: reason.description)
        case (.success, nil):
            return DefaultPyTorchComparison(skipped: "the trainings ran without PyTorch's companion")
        case (.success, .failure(let failure)?):
            return DefaultPyTorchComparison(skipped: "the PyTorch run failed: \(failure)")
        case (.success, .success(let lines)?):
            do {
                step = try PyTorchStep.parse(lines)
            } catch {
                return DefaultPyTorchComparison(skipped: "\(error)")
            }
        }
        let libraryParameters = training.dense.result.parameterCount
        guard step.parameters == libraryParameters else {
            return DefaultPyTorchComparison(
                skipped: "PyTorch's Mixer has \(step.parameters) parameters, the library's dense Mixer \(libraryParameters): "
                    + "\(PyTorchStep.script) and the library describe different models", step: step)
        }
        return DefaultPyTorchComparison(
            step: step,
            libraryDenseSpeedup: step.medianStepSeconds / training.dense.result.medianStepSeconds,
            libraryPixelflySpeedup: step.medianStepSeconds / training.pixelfly.result.medianStepSeconds)
    }

    /// What the comparison found, or why it was skipped, and the target's verdict.
    var lines: [String] {
        guard let step, let libraryDenseSpeedup, let libraryPixelflySpeedup else {
            return ["PyTorch comparison skipped: \(skipped ?? "not run")"]
        }
        return [
            "PyTorch \(step.torchVersion) dense Mixer step (same shapes, \(step.threads) threads, random inputs, "
                + "\(step.steps) steps taking turns with the trainings): \(format(step.medianStepSeconds * 1e3, 1)) ms "
                + "(\(format(step.firstQuartileStepSeconds * 1e3, 1))–\(format(step.thirdQuartileStepSeconds * 1e3, 1))): "
                + "the library's dense step is \(format(libraryDenseSpeedup, 2))× and its Pixelfly step "
                + "\(format(libraryPixelflySpeedup, 2))× faster",
            "PyTorch target on this run: Pixelfly Mixer step ≥ \(format(Self.target, 1))× PyTorch's dense step: "
                + (libraryPixelflySpeedup >= Self.target ? "met" : "not met") + " (\(format(libraryPixelflySpeedup, 2))×)",
        ]
    }
}
