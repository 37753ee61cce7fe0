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
    /// Seconds inside training steps, and the wall time of the child's group (start-up, data,
    /// evaluation, and the other arms' turns: the arms of one seed share it).
    var trainingSeconds: Double
    var wallSeconds: Double
    /// The host's 1/5/15-minute load average when the child started.
    var loadAverage: String
    var evaluations: [EvaluationRecord]
    /// The child's JSON, relative to the results folder.
    var resultFile: String
}

/// Runs the plan's training runs in child processes and prints a flushed progress line before
/// and after each group ("[3–5/29] gpt · seed 0 …") with the elapsed time, the group's planned
/// time (`ReproduceEstimate`) and the pace against the plan.
///
/// A group is every arm of one family at one seed: its children take turns,
/// `interleaveSteps` steps at a time (`InterleavedChildTrainings`), so that a drift of the
/// machine's speed over the minutes a group takes reaches each arm's step times alike, and a
/// seed's speed-ups compare steps drawn from the same stretch of time. (Until the forty-fourth
/// kernel pass the arms ran one after the other, and the guest of the forty-third pass drifted
/// by up to 17 % between separate runs.) The density sweep is one group: its points and the
/// Mixer's arms as references (`DensitySweep`).
struct ReproduceRunner {
    /// Steps each child of a group runs before the next takes over (the default job's).
    static let interleaveSteps = DefaultTrainingSection.interleaveSteps

    /// One child of a group: its arm's name, `train` arguments and planned seconds alone.
    struct ArmChild {
        var arm: String
        var arguments: [String]
        var planned: Double
    }

    let folder: ResultsFolder
    let threads: Int
    let totalRuns: Int
    /// The whole job's estimate on an idle machine, seconds.
    let plannedSeconds: Double
    /// The bench the children run (this program), and arguments added to every child's (the
    /// tests run a debug build with `--allow-debug`).
    let executable: String
    let extraArguments: [String]
    let start = monotonicSeconds()
    private(set) var finished = 0
    /// Planned and actual wall seconds of the finished groups.
    private var plannedDone = 0.0
    private var actualDone = 0.0

    init(folder: ResultsFolder, threads: Int, totalRuns: Int, plannedSeconds: Double,
         executable: String = ChildTrainingRun.executablePath, extraArguments: [String] = []) throws {
        self.folder = folder
        self.threads = threads
        self.totalRuns = totalRuns
        self.plannedSeconds = plannedSeconds
        self.executable = executable
        self.extraArguments = extraArguments
        try FileManager.default.createDirectory(atPath: folder.file("runs"), withIntermediateDirectories: true)
    }

    /// Seconds since the job started.
    var elapsed: Double { monotonicSeconds() - start }

    /// Trains `arms` of `family` at `seed`, interleaved, one child process each; returns their
    /// runs in the same order.
    mutating func run(family: String, seed: UInt64, arms: [ArmChild], metric: QualityMetric) throws -> [ArmRun] {
        try run(family: family, seed: seed, arms: arms, metric: metric, companion: nil).runs
    }

    /// The same, with `companion` (PyTorch's dense step) taking a turn in every round of the
    /// group and adding `companionPlanned` seconds to its plan; returns the runs and the
    /// companion's output.
    mutating func run(family: String, seed: UInt64, arms: [ArmChild], metric: QualityMetric,
                      companion: InterleavedChildTrainings.Companion?, companionPlanned: Double = 0)
        throws -> (runs: [ArmRun], companion: InterleavedChildTrainings.CompanionOutput?) {
        let relative = arms.map { arm in
            "runs/" + String("\(family)-\(arm.arm)-seed\(seed)".lowercased().map {
                $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_"
            }) + ".json"
        }
        let first = finished + 1, last = finished + arms.count
        let planned = arms.reduce(0) { $0 + $1.planned } + companionPlanned
        let range = first == last ? "\(first)" : "\(first)–\(last)"
        say("[\(range)/\(totalRuns)] \(family) · seed \(seed) · \(arms.map(\.arm).joined(separator: ", "))"
            + (arms.count > 1 ? ", taking turns \(Self.interleaveSteps) steps at a time" : "")
            + " — \(format(elapsed, 0)) s elapsed of ≈ \(format(plannedSeconds, 0)) s planned (this group ≈ \(format(planned, 0)) s)")
        for arm in arms { say("    \(arm.arm): train \(arm.arguments.joined(separator: " "))") }
        if let companion { say("    companion, a turn in every round: \(companion.arguments.joined(separator: " "))") }
        let groupStart = monotonicSeconds()
        let children = zip(arms, relative).map { arm, path in
            InterleavedChildTrainings.Child(arguments: arm.arguments + extraArguments, jsonPath: folder.file(path),
                                            prefix: "    \(family)/\(arm.arm)/s\(seed) | ")
        }
        let (documents, companions) = try InterleavedChildTrainings.run(
            children, companions: companion.map { [$0] } ?? [], threads: threads, gateEvery: Self.interleaveSteps, executable: executable)
        let wall = monotonicSeconds() - groupStart
        finished += arms.count
        let runs = zip(arms, zip(documents, relative)).map { arm, pair in
            let (document, path) = pair
            let result = document.results
            return ArmRun(
                family: family, arm: arm.arm, seed: seed, linear: Self.linearDescription(result.configuration.model),
                parameters: result.parameterCount, steps: result.totalSteps,
                medianStepSeconds: result.medianStepSeconds, firstQuartileStepSeconds: result.firstQuartileStepSeconds,
                thirdQuartileStepSeconds: result.thirdQuartileStepSeconds, quality: metric.value(result),
                finalTestLoss: result.finalTestLoss, finalTestAccuracy: result.finalTestAccuracy,
                trainingSeconds: result.evaluations.last?.trainingSeconds ?? 0, wallSeconds: wall,
                loadAverage: document.environment.hostLoadAverage, evaluations: result.evaluations, resultFile: path)
        }
        plannedDone += planned
        actualDone += wall
        let pace = actualDone / max(plannedDone, 1e-9)
        let digits = metric == .heldOutBitsPerByte ? 4 : 2
        say("[\(range)/\(totalRuns)] done in \(format(wall, 0)) s (planned ≈ \(format(planned, 0))): median step "
            + runs.map { "\($0.arm) \(format($0.medianStepSeconds * 1e3, 1)) ms" }.joined(separator: ", ") + "; \(metric.label) "
            + runs.map { "\($0.arm) \(format($0.quality, digits))" }.joined(separator: ", ")
            + "; load \(runs.first?.loadAverage ?? ""); \(format(elapsed, 0)) s elapsed, pace \(format(pace, 2))× the plan "
            + "→ ≈ \(format(max(plannedSeconds - plannedDone, 0) * pace, 0)) s to go")
        return (runs, companions.first)
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
