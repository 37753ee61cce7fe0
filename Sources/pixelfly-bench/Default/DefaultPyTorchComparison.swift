import PixelflyCore

/// Section 4's comparison with what a user would otherwise run: the same dense Mixer (same
/// widths, batch and thread count) trained in PyTorch on the CPU (`PyTorchStep`, random inputs),
/// timed once before and once after the library's two trainings. The library's runs take turns
/// with each other, not with PyTorch's; the two PyTorch runs show how far the machine's speed
/// moved across the section, and the ratios use their mean. Skipped, with the reason, where
/// PyTorch is not installed.
struct DefaultPyTorchComparison: Encodable {
    /// PyTorch's dense step ÷ the library's Pixelfly step must reach this (issue 11).
    static let target = 2.5
    /// Timed steps per PyTorch run (after 3 untimed ones).
    static let timedSteps = 12

    /// Why PyTorch was not timed; nil when it was.
    var skipped: String?
    var before: PyTorchStep?
    var after: PyTorchStep?
    /// Mean of the two PyTorch medians, ms.
    var pytorchMilliseconds: Double?
    /// PyTorch's dense step ÷ the library's dense and Pixelfly median steps.
    var libraryDenseSpeedup: Double?
    var libraryPixelflySpeedup: Double?

    /// The first PyTorch run, or why PyTorch cannot be timed here.
    static func measureBefore(_ options: DefaultTrainingOptions, threads: Int) -> Result<PyTorchStep, PyTorchStep.Unavailable> {
        if let reason = PyTorchStep.unavailability() { return .failure(.init(description: reason)) }
        return Result { try PyTorchStep.measure(modelArguments: options.pytorchArguments, threads: threads, timedSteps: timedSteps) }
            .mapError { $0 as? PyTorchStep.Unavailable ?? .init(description: "\($0)") }
    }

    /// The second PyTorch run (when the first one ran) and the ratios against `training`.
    static func complete(_ first: Result<PyTorchStep, PyTorchStep.Unavailable>, options: DefaultTrainingOptions, threads: Int,
                         training: DefaultTrainingSection) -> DefaultPyTorchComparison {
        let before: PyTorchStep
        switch first {
        case .success(let step): before = step
        case .failure(let reason): return DefaultPyTorchComparison(skipped: reason.description)
        }
        let libraryParameters = training.dense.result.parameterCount
        guard before.parameters == libraryParameters else {
            return DefaultPyTorchComparison(
                skipped: "PyTorch's Mixer has \(before.parameters) parameters, the library's dense Mixer \(libraryParameters): "
                    + "\(PyTorchStep.script) and the library describe different models", before: before)
        }
        let after: PyTorchStep
        do {
            after = try PyTorchStep.measure(modelArguments: options.pytorchArguments, threads: threads, timedSteps: timedSteps)
        } catch {
            return DefaultPyTorchComparison(skipped: "the run after the trainings failed: \(error)", before: before)
        }
        let pytorch = (before.medianStepSeconds + after.medianStepSeconds) / 2
        return DefaultPyTorchComparison(
            before: before, after: after, pytorchMilliseconds: pytorch * 1e3,
            libraryDenseSpeedup: pytorch / training.dense.result.medianStepSeconds,
            libraryPixelflySpeedup: pytorch / training.pixelfly.result.medianStepSeconds)
    }

    /// What the comparison found, or why it was skipped, and the target's verdict.
    var lines: [String] {
        guard let before, let after, let pytorchMilliseconds, let libraryDenseSpeedup, let libraryPixelflySpeedup else {
            return ["PyTorch comparison skipped: \(skipped ?? "not run")"]
        }
        return [
            "PyTorch \(before.torchVersion) dense Mixer step (same shapes, \(before.threads) threads, random inputs): "
                + "\(format(before.medianStepSeconds * 1e3, 1)) ms before and \(format(after.medianStepSeconds * 1e3, 1)) ms after "
                + "the trainings (mean \(format(pytorchMilliseconds, 1)) ms): the library's dense step is \(format(libraryDenseSpeedup, 2))× "
                + "and its Pixelfly step \(format(libraryPixelflySpeedup, 2))× faster",
            "PyTorch target on this run: Pixelfly Mixer step ≥ \(format(Self.target, 1))× PyTorch's dense step: "
                + (libraryPixelflySpeedup >= Self.target ? "met" : "not met") + " (\(format(libraryPixelflySpeedup, 2))×)",
        ]
    }
}
