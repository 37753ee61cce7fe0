/// `reproduce`'s PyTorch section: each family's dense model in PyTorch at the bench's thread
/// count (`PyTorchStep`), beside the library's dense and Pixelfly steps. Where the family's
/// section runs, PyTorch takes `stepsPerTurn` steps in every round of each seed's interleaved
/// group (a companion of `InterleavedChildTrainings`), so its steps come from the same minutes as
/// the arms'; with `--only pytorch` and no family section, each model is timed alone. Skipped,
/// with the reason and how to enable it, where PyTorch is not installed.
struct PyTorchBaseline: Codable {
    /// PyTorch steps per round of a group (the arms run `ReproduceRunner.interleaveSteps`).
    static let stepsPerTurn = DefaultPyTorchComparison.stepsPerTurn

    /// nil when measured.
    var skipped: String?
    /// Per family key, one PyTorch run per seed group it took turns with, or one run timed alone.
    var steps: [String: [PyTorchStep]] = [:]
    /// Runs that failed, each with its family and why; that family's row uses the others.
    var failures: [String] = []
    /// True when the runs took turns with the trainings, false when timed alone.
    var interleaved: Bool

    /// Where PyTorch cannot run: the section, skipped with `reason`.
    init(skipped reason: String) {
        skipped = reason
        interleaved = false
    }

    init(interleaved: Bool) { self.interleaved = interleaved }

    /// The companion that takes turns with one group of `family`'s arms.
    static func companion(_ family: ReproduceFamily, threads: Int, python: String) -> InterleavedChildTrainings.Companion {
        PyTorchStep.companion(modelArguments: family.shape.pytorchArguments, threads: threads, stepsPerTurn: stepsPerTurn,
                              python: python, prefix: "    \(family.key)/PyTorch | ")
    }

    /// Keeps the companions' results of `family`'s groups (or why they failed).
    mutating func record(_ outputs: [InterleavedChildTrainings.CompanionOutput], family: ReproduceFamily) {
        for output in outputs {
            do {
                steps[family.key, default: []].append(try PyTorchStep.parse(try output.get()))
            } catch {
                failures.append("\(family.key): \(error)")
            }
        }
    }

    /// Each of `families`' dense models timed alone, one after the other (`--only pytorch`).
    static func runAlone(families: [ReproduceFamily], threads: Int, timedSteps: Int, python: String = "python3") -> PyTorchBaseline {
        if let reason = PyTorchStep.unavailability(python: python) { return PyTorchBaseline(skipped: reason) }
        var baseline = PyTorchBaseline(interleaved: false)
        for family in families {
            print("-- PyTorch \(family.key)")
            do {
                baseline.steps[family.key] = [try PyTorchStep.measure(modelArguments: family.shape.pytorchArguments, threads: threads,
                                                                      timedSteps: timedSteps, python: python)]
            } catch {
                baseline.failures.append("\(family.key): \(error)")
            }
        }
        return baseline
    }

    /// How the PyTorch steps were taken, for the report.
    var method: String {
        let version = steps.values.first?.first?.torchVersion ?? "?"
        return interleaved
            ? "PyTorch \(version); in every seed's group PyTorch took \(Self.stepsPerTurn) steps per round after the arms' turns "
                + "(the first 3 untimed); its column is the mean over seeds of each group's median step (random inputs, same shapes, "
                + "AdamW, clipping)."
            : "PyTorch \(version); each model timed alone, median of its timed steps after 3 warm-up steps (random inputs, same shapes, "
                + "AdamW, clipping)."
    }

    /// Library dense (the faster dense arm) and Pixelfly step times against PyTorch's dense step, per family.
    func table(_ comparisons: [FamilyComparison]) -> Table {
        var table = Table(["model", "PyTorch dense ms/step", "library dense ms/step", "library Pixelfly ms/step",
                           "PyTorch dense ÷ library dense", "PyTorch dense ÷ library Pixelfly"])
        for c in comparisons {
            let denseArms = c.arms.filter { $0.arm == c.family.arms[0].name || $0.arm == ReproduceArm.denseBlocksName }
            guard let torch = steps[c.family.key], !torch.isEmpty, let dense = denseArms.map(\.stepMilliseconds.mean).min(),
                  let pixelfly = c.arms.first(where: { $0.arm == ReproduceArm.pixelflyName })?.stepMilliseconds.mean else { continue }
            let torchMs = torch.map { $0.medianStepSeconds * 1e3 }.reduce(0, +) / Double(torch.count)
            table.append([c.family.key, format(torchMs, 1), format(dense, 1), format(pixelfly, 1),
                          format(torchMs / dense, 2) + "×", format(torchMs / pixelfly, 2) + "×"])
        }
        return table
    }
}
