import ArgumentParser
import Butterfly
import PixelflyCore

/// `pixelfly-bench learn-dft`: the ICML 2019 result (Dao et al.) — a complex butterfly with a
/// fixed bit-reversal input permutation, started from random twiddles and trained by Adam on
/// (x, F·x) pairs, recovers the unitary DFT F.
struct LearnDFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn-dft",
        abstract: "Fits a random butterfly (fixed bit reversal) to the unitary DFT by gradient descent and reports the loss curve.",
        discussion: """
        Training pairs are the n standard basis vectors x = e_j with targets F·e_j, so the loss \
        ½·Σ_j ‖B·P·e_j − F·e_j‖² / n is exactly the squared Frobenius error over ‖F‖²_F = n, and \
        the relative Frobenius error is √(2·loss). Adam with cosine learning-rate decay, in Double. \
        The final error is recomputed from the materialised matrix B·P.
        """)

    @Option(parsing: .upToNextOption, help: "Transform sizes (powers of two).")
    var sizes: [Int] = [16, 64]

    @Option(help: "Adam steps.")
    var steps: Int = 6000

    @Option(help: "Peak Adam learning rate (cosine decay to 1% of it).")
    var learningRate: Double = 0.02

    @Option(help: "Seed of the random twiddles.")
    var seed: UInt64 = 1

    @Option(help: "Print the loss every this many steps.")
    var every: Int = 250

    @Option(help: "Write the curves as JSON to this file.")
    var json: String?

    func validate() throws {
        guard steps >= 1, every >= 1, learningRate > 0 else { throw ValidationError("--steps, --every and --learning-rate must be positive") }
    }

    func run() throws {
        let environment = RunEnvironment.current()
        print(environment.header)
        var runs: [DFTLearningRun] = []
        for n in sizes {
            let run = try DFTLearningRun.train(n: n, steps: steps, learningRate: learningRate, seed: seed, every: every) { point in
                print("n=\(n) step \(point.step): loss \(formatScientific(point.loss)), relative Frobenius error \(formatScientific(point.relativeError))")
            }
            print("n=\(n): final relative Frobenius error of B·P vs F/√n (materialised): \(formatScientific(run.finalRelativeError)) after \(steps) steps, \(format(run.seconds, 2)) s")
            runs.append(run)
        }
        if let json {
            let configuration = ["sizes": sizes.map(String.init).joined(separator: ","), "steps": "\(steps)",
                                 "learningRate": "\(learningRate)", "seed": "\(seed)"]
            try ResultsFolder.writeJSON(to: json, ResultDocument(command: "learn-dft", environment: environment, configuration: configuration, results: runs))
            print("JSON written to \(json)")
        }
    }
}
