import Foundation
import Testing
@testable import pixelfly_bench

/// `InterleavedChildTrainings` and `train --step-gate`, on the tiny Mixer (9 steps of batch 16,
/// a few seconds in a debug build): the children take turns in blocks of steps, each still
/// trains what it was asked, the gate lines are not relayed, and a child that fails does not
/// leave the other waiting.
@Suite("Interleaved child trainings", .serialized)
struct InterleavedTrainingTests {
    /// Relayed lines, from the children's relay threads.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    static func arguments(seed: Int, _ extra: [String] = []) -> [String] {
        ["--allow-debug", "--model", "mixer", "--preset", "tiny", "--steps", "9", "--batch-size", "16", "--train-limit", "256",
         "--test-limit", "100", "--log-interval", "1", "--eval-interval", "10", "--seed", String(seed)] + extra
    }

    /// "a | step 3/9 …" → "a3".
    static func stepTags(_ lines: [String]) -> [String] {
        lines.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count > 3, parts[1] == "|", parts[2] == "step", let slash = parts[3].firstIndex(of: "/") else { return nil }
            return String(parts[0]) + parts[3][..<slash]
        }
    }

    @Test func childrenTakeTurnsInBlocksOfSteps() throws {
        let directory = try TemporaryDirectory("interleaved")
        defer { directory.remove() }
        let lines = Lines()
        let children = [("a", 3), ("b", 4)].map { name, seed in
            InterleavedChildTrainings.Child(arguments: Self.arguments(seed: seed), jsonPath: directory.file("\(name).json"), prefix: "\(name) | ")
        }
        let documents = try InterleavedChildTrainings.run(children, threads: 1, gateEvery: 2, executable: BenchProcess.benchPath,
                                                           output: lines.append)
        #expect(documents.map(\.results.stepLosses.count) == [9, 9])
        #expect(documents.map(\.results.configuration.seed) == [3, 4])
        #expect(documents[0].results.stepLosses != documents[1].results.stepLosses, "two seeds, two trajectories")
        let expected = ["a1", "a2", "b1", "b2", "a3", "a4", "b3", "b4", "a5", "a6", "b5", "b6", "a7", "a8", "b7", "b8", "a9", "b9"]
        #expect(Self.stepTags(lines.all) == expected)
        #expect(!lines.all.contains { $0.contains(StepGate.marker) })
    }

    /// The gate changes when steps run, not what they compute: the same seed gated and alone
    /// gives the same losses, bit for bit.
    @Test func gatedTrainingMatchesAnUngatedRun() throws {
        let directory = try TemporaryDirectory("interleaved-same")
        defer { directory.remove() }
        let gated = try InterleavedChildTrainings.run(
            [.init(arguments: Self.arguments(seed: 5), jsonPath: directory.file("gated.json"), prefix: "")],
            threads: 1, gateEvery: 4, executable: BenchProcess.benchPath, output: { _ in })
        let alone = try BenchProcess.run(["train"] + Self.arguments(seed: 5, ["--threads", "1", "--json", directory.file("alone.json")]), ranks: nil)
        #expect(alone.status == 0, "\(alone.errors)")
        #expect(try ChildTrainingRun.read(directory.file("alone.json")).results.stepLosses == gated[0].results.stepLosses)
    }

    /// A child that cannot start training ends; the other runs to the end on its own, and the
    /// run then throws, naming the failed child.
    @Test func aFailingChildDoesNotHangTheOther() throws {
        let directory = try TemporaryDirectory("interleaved-failure")
        defer { directory.remove() }
        let children = [
            InterleavedChildTrainings.Child(arguments: Self.arguments(seed: 3), jsonPath: directory.file("good.json"), prefix: ""),
            InterleavedChildTrainings.Child(arguments: Self.arguments(seed: 3, ["--preset", "huge"]), jsonPath: directory.file("bad.json"), prefix: ""),
        ]
        #expect {
            _ = try InterleavedChildTrainings.run(children, threads: 1, gateEvery: 2, executable: BenchProcess.benchPath, output: { _ in })
        } throws: { error in
            "\(error)".contains("--preset huge") && "\(error)".contains("exited with status")
        }
        #expect(FileManager.default.fileExists(atPath: directory.file("good.json")), "the good child finished")
    }

    /// A gated child whose standard input ends (its parent has gone) stops at the gate with a
    /// failure that says why, instead of training on ungated beside whatever runs next.
    @Test func aGatedChildWithoutParentStops() throws {
        let directory = try TemporaryDirectory("interleaved-orphan")
        defer { directory.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BenchProcess.benchPath)
        process.arguments = ["train"] + Self.arguments(seed: 3) + ["--threads", "1", "--step-gate", "2", "--json", directory.file("orphan.json")]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var lines: [String] = []
        ChildTrainingRun.forEachLine(of: output.fileHandleForReading) { lines.append($0) }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(lines.contains { $0.contains("standard input ended before step 0") }, "\(lines.suffix(3))")
        #expect(!lines.contains { $0.hasPrefix("step ") }, "no step ran ungated")
        #expect(!FileManager.default.fileExists(atPath: directory.file("orphan.json")))
    }

    /// A shell companion that keeps the gate protocol: prints a gate line, and on each line
    /// read prints "turn N"; when its standard input ends it prints "done N" (and exits with
    /// `status`, or fails after `failAfter` turns).
    static func shellCompanion(failAfter: Int? = nil) -> InterleavedChildTrainings.Companion {
        let failure = failAfter.map { "[ $n -eq \($0) ] && { echo crashed; exit 3; }; " } ?? ""
        let script = "n=0; while echo \"\(StepGate.marker) $n\" && read line; do \(failure)echo \"turn $n\"; n=$((n+1)); done; echo \"done $n\""
        return .init(executable: "/bin/sh", arguments: ["-c", script], prefix: "c | ")
    }

    /// A companion takes one turn after the trainings' turns in every round, for as long as
    /// they run, then stops when its input is closed; its lines come back.
    @Test func aCompanionTakesATurnInEveryRound() throws {
        let directory = try TemporaryDirectory("interleaved-companion")
        defer { directory.remove() }
        let lines = Lines()
        let children = [("a", 3), ("b", 4)].map { name, seed in
            InterleavedChildTrainings.Child(arguments: Self.arguments(seed: seed), jsonPath: directory.file("\(name).json"), prefix: "\(name) | ")
        }
        let (documents, companions) = try InterleavedChildTrainings.run(
            children, companions: [Self.shellCompanion()], threads: 1, gateEvery: 4, executable: BenchProcess.benchPath,
            output: lines.append)
        #expect(documents.map(\.results.stepLosses.count) == [9, 9])
        // 9 steps in turns of 4: three rounds.
        #expect(try companions[0].get() == ["turn 0", "turn 1", "turn 2", "done 3"])
        let order = lines.all.compactMap { line -> String? in
            if line.hasPrefix("c | turn") { return "c" + line.dropFirst("c | turn ".count) }
            let tags = Self.stepTags([line])
            return tags.first
        }
        #expect(order == ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "c0", "a5", "a6", "a7", "a8", "b5", "b6", "b7", "b8", "c1",
                          "a9", "b9", "c2"])
    }

    /// A companion that fails mid-run does not stop the trainings: they finish, and its output
    /// is the failure, with its exit status and last lines.
    @Test func aFailingCompanionDoesNotStopTheTrainings() throws {
        let directory = try TemporaryDirectory("interleaved-companion-failure")
        defer { directory.remove() }
        let (documents, companions) = try InterleavedChildTrainings.run(
            [.init(arguments: Self.arguments(seed: 3), jsonPath: directory.file("a.json"), prefix: "")],
            companions: [Self.shellCompanion(failAfter: 1)], threads: 1, gateEvery: 2, executable: BenchProcess.benchPath, output: { _ in })
        #expect(documents[0].results.stepLosses.count == 9)
        #expect {
            _ = try companions[0].get()
        } throws: { error in
            "\(error)".contains("exited with status 3") && "\(error)".contains("crashed")
        }
    }

    /// `scripts/pytorch-baseline.py --step-gate` as the companion: two steps per round (the
    /// first untimed) over three rounds give five timed steps of PyTorch's tiny Mixer. Runs
    /// only where `import torch` works.
    @Test(.enabled(if: PyTorchStep.unavailability() == nil, "needs PyTorch (`pip install torch`)"))
    func pytorchTakesTurnsAsACompanion() throws {
        let directory = try TemporaryDirectory("interleaved-pytorch")
        defer { directory.remove() }
        let companion = PyTorchStep.companion(
            modelArguments: ["--model", "mixer", "--width", "32", "--depth", "1", "--hidden", "64", "--batch", "16"],
            threads: 1, stepsPerTurn: 2, warmup: 1, prefix: "")
        let (_, companions) = try InterleavedChildTrainings.run(
            [.init(arguments: Self.arguments(seed: 3), jsonPath: directory.file("a.json"), prefix: "")],
            companions: [companion], threads: 1, gateEvery: 4, executable: BenchProcess.benchPath, output: { _ in })
        let step = try PyTorchStep.parse(try companions[0].get())
        #expect(step.steps == 5)
        #expect(step.model == "mixer" && step.threads == 1)
        #expect(step.firstQuartileStepSeconds <= step.medianStepSeconds && step.medianStepSeconds <= step.thirdQuartileStepSeconds)
    }

    /// The result is the script's last JSON line; output without one is an error that shows it.
    @Test func pytorchResultIsTheLastJSONLine() throws {
        let json = #"{"model": "mixer", "parameters": 10, "medianStepSeconds": 0.5, "firstQuartileStepSeconds": 0.4, "#
            + #""thirdQuartileStepSeconds": 0.6, "steps": 7, "batch": 64, "threads": 2, "torchVersion": "2.15.0", "mkldnn": true}"#
        #expect(try PyTorchStep.parse(["warming up", json]).steps == 7)
        #expect {
            _ = try PyTorchStep.parse(["Traceback (most recent call last):", "ImportError: no torch"])
        } throws: { error in
            "\(error)".contains("printed no result line") && "\(error)".contains("ImportError")
        }
    }

    @Test func stepGateMustBePositive() throws {
        let outcome = try BenchProcess.run(["train", "--allow-debug", "--step-gate", "0"], ranks: nil)
        #expect(outcome.status != 0)
        #expect((outcome.output + outcome.errors).contains("--step-gate must be at least 1 step"))
    }
}
