import Foundation
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// One training run of `reproduce` (one arm, one seed), as the report keeps it.
struct ArmRun: Codable {
    var family: String
    var arm: String
    var seed: UInt64
    var linear: String
    var parameters: Int
    var steps: Int
    var medianStepSeconds: Double
    var firstQuartileStepSeconds: Double
    var thirdQuartileStepSeconds: Double
    /// The family's quality metric at the end of training (bits/byte or accuracy %).
    var quality: Double
    var finalTestLoss: Double
    var finalTestAccuracy: Double
    /// Seconds inside training steps, and the child's whole wall time (start-up, data, evaluation).
    var trainingSeconds: Double
    var wallSeconds: Double
    /// The host's 1/5/15-minute load average when the child started.
    var loadAverage: String
    var evaluations: [EvaluationRecord]
    /// The child's JSON, relative to the results folder.
    var resultFile: String
}

/// Runs the plan's training runs one after another, each in its own child process, and prints
/// a flushed progress line before and after each ("[3/29] gpt · Pixelfly · seed 0 …") with the
/// elapsed time, the run's planned time (`ReproduceEstimate`) and the pace against the plan.
struct ReproduceRunner {
    let folder: ResultsFolder
    let threads: Int
    let totalRuns: Int
    /// The whole job's estimate on an idle machine, seconds.
    let plannedSeconds: Double
    let start = monotonicSeconds()
    private(set) var finished = 0
    /// Planned and actual wall seconds of the finished runs.
    private var plannedDone = 0.0
    private var actualDone = 0.0

    init(folder: ResultsFolder, threads: Int, totalRuns: Int, plannedSeconds: Double) throws {
        self.folder = folder
        self.threads = threads
        self.totalRuns = totalRuns
        self.plannedSeconds = plannedSeconds
        try FileManager.default.createDirectory(atPath: folder.file("runs"), withIntermediateDirectories: true)
    }

    /// Seconds since the job started.
    var elapsed: Double { monotonicSeconds() - start }

    /// Trains one arm at one seed in a child process; `planned` is its estimated seconds.
    mutating func run(family: String, arm: String, seed: UInt64, arguments: [String], metric: QualityMetric,
                      planned: Double) throws -> ArmRun {
        let slug = "\(family)-\(arm)-seed\(seed)".lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }
        let relative = "runs/\(String(slug)).json"
        let index = finished + 1
        say("[\(index)/\(totalRuns)] \(family) · \(arm) · seed \(seed) — \(format(elapsed, 0)) s elapsed of ≈ \(format(plannedSeconds, 0)) s "
            + "planned (this run ≈ \(format(planned, 0)) s): train \(arguments.joined(separator: " "))")
        let childStart = monotonicSeconds()
        let document = try ChildTrainingRun.run(arguments, threads: threads, jsonPath: folder.file(relative),
                                                prefix: "    \(family)/\(arm)/s\(seed) | ")
        let result = document.results
        finished += 1
        let run = ArmRun(
            family: family, arm: arm, seed: seed, linear: Self.linearDescription(result.configuration.model),
            parameters: result.parameterCount, steps: result.totalSteps,
            medianStepSeconds: result.medianStepSeconds, firstQuartileStepSeconds: result.firstQuartileStepSeconds,
            thirdQuartileStepSeconds: result.thirdQuartileStepSeconds, quality: metric.value(result),
            finalTestLoss: result.finalTestLoss, finalTestAccuracy: result.finalTestAccuracy,
            trainingSeconds: result.evaluations.last?.trainingSeconds ?? 0, wallSeconds: monotonicSeconds() - childStart,
            loadAverage: document.environment.hostLoadAverage, evaluations: result.evaluations, resultFile: relative)
        plannedDone += planned
        actualDone += run.wallSeconds
        let pace = actualDone / max(plannedDone, 1e-9)
        say("[\(index)/\(totalRuns)] done in \(format(run.wallSeconds, 0)) s (planned ≈ \(format(planned, 0))): median step "
            + "\(format(run.medianStepSeconds * 1e3, 1)) ms, \(metric.label) \(format(run.quality, metric == .heldOutBitsPerByte ? 4 : 2)), "
            + "\(run.parameters) parameters, load \(run.loadAverage); \(format(elapsed, 0)) s elapsed, pace \(format(pace, 2))× the plan "
            + "→ ≈ \(format(max(plannedSeconds - plannedDone, 0) * pace, 0)) s to go")
        return run
    }

    func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// The block linears of a model configuration, in words.
    static func linearDescription(_ model: ModelConfiguration) -> String {
        switch model {
        case .gpt(let c):
            return c.linear.description + (c.attentionScores.kind == "dense" ? ""
                : ", scores flat butterfly b \(c.attentionScores.blockSize ?? 0) K \(c.attentionScores.factors ?? 0)")
        case .vit(let c): return c.linear.description
        case .mixer(let c): return "channel \(c.channelMixingLinear), token \(c.tokenMixingLinear)"
        }
    }
}
