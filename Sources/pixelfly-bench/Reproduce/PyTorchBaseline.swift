/// `reproduce`'s PyTorch section: each family's dense model timed in PyTorch at the bench's
/// thread count (`PyTorchStep`), beside the library's dense and Pixelfly steps. Skipped, with
/// the reason and how to enable it, where PyTorch is not installed.
struct PyTorchBaseline: Codable {
    /// nil when measured.
    var skipped: String?
    var steps: [String: PyTorchStep]

    static func run(families: [ReproduceFamily], threads: Int, timedSteps: Int, python: String = "python3") -> PyTorchBaseline {
        if let reason = PyTorchStep.unavailability(python: python) { return PyTorchBaseline(skipped: reason, steps: [:]) }
        var steps: [String: PyTorchStep] = [:]
        for family in families {
            print("-- PyTorch \(family.key)")
            do {
                steps[family.key] = try PyTorchStep.measure(modelArguments: family.shape.pytorchArguments, threads: threads,
                                                            timedSteps: timedSteps, python: python)
            } catch {
                return PyTorchBaseline(skipped: "\(family.key): \(error)", steps: steps)
            }
        }
        return PyTorchBaseline(skipped: nil, steps: steps)
    }

    /// Library dense (the faster dense arm) and Pixelfly step times against PyTorch's dense step, per family.
    func table(_ comparisons: [FamilyComparison]) -> Table {
        var table = Table(["model", "PyTorch dense ms/step", "library dense ms/step", "library Pixelfly ms/step",
                           "PyTorch dense ÷ library dense", "PyTorch dense ÷ library Pixelfly"])
        for c in comparisons {
            let denseArms = c.arms.filter { $0.arm == c.family.arms[0].name || $0.arm == ReproduceArm.denseBlocksName }
            guard let torch = steps[c.family.key], let dense = denseArms.map(\.stepMilliseconds.mean).min(),
                  let pixelfly = c.arms.first(where: { $0.arm == ReproduceArm.pixelflyName })?.stepMilliseconds.mean else { continue }
            let torchMs = torch.medianStepSeconds * 1e3
            table.append([c.family.key, format(torchMs, 1), format(dense, 1), format(pixelfly, 1),
                          format(torchMs / dense, 2) + "×", format(torchMs / pixelfly, 2) + "×"])
        }
        return table
    }
}
