import Foundation
import PixelflyData
import PixelflyCore
import Testing
#if canImport(Glibc)
import Glibc
import PixelflyTraining
#endif

/// `pixelfly-bench train` under `mpirun`: data-parallel training reproduces single-process
/// training, repeats bit for bit, resumes with another rank count, stops when a rank dies, and
/// refuses bad set-ups. Each case trains the tiny Mixer (3210 parameters) for at most 20 steps
/// of global batch 16 on 256 Fashion-MNIST images, a few seconds in a debug build.
@Suite("Data-parallel training under mpirun", .serialized)
struct DataParallelTests {
    static func arguments(steps: Int = 20, batch: Int = 16, seed: Int = 3, _ extra: [String] = []) -> [String] {
        ["train", "--allow-debug", "--model", "mixer", "--preset", "tiny", "--steps", String(steps), "--batch-size", String(batch),
         "--train-limit", "256", "--test-limit", "100", "--log-interval", "1", "--eval-interval", "10", "--threads", "1",
         "--seed", String(seed)] + extra
    }

    static func expectSuccess(_ outcome: BenchProcess.Outcome, _ what: String) {
        #expect(outcome.status == 0, "\(what) exited with \(outcome.status): \(outcome.errors) \(outcome.output.suffix(2000))")
    }

    /// Largest |a − b| / |a| over the steps, after checking both have `count` steps.
    static func maximumRelativeDifference(_ a: [Double], _ b: [Double], count: Int) -> Double {
        #expect(a.count == count && b.count == count, "step counts \(a.count) and \(b.count); expected \(count)")
        return zip(a, b).map { abs($0 - $1) / abs($0) }.max() ?? .infinity
    }

    /// 2 ranks × 8 rows follow the 1-process trajectory at batch 16 within 1e-5 per step. Not
    /// bit for bit: the loss and gradient sums run over 8 rows per rank and then over ranks,
    /// a different order of Float additions than one sum over 16 rows (measured: ~2e-8).
    @Test func twoRanksReproduceOneProcessTrajectory() throws {
        let directory = try TemporaryDirectory("dp-trajectory")
        defer { directory.remove() }
        let single = try BenchProcess.run(Self.arguments(["--json", directory.file("1.json")]), ranks: nil)
        Self.expectSuccess(single, "1 process")
        #expect(!single.output.contains("data-parallel"), "a run without mpirun must not start MPI")
        let double = try BenchProcess.run(Self.arguments(["--json", directory.file("2.json")]), ranks: 2)
        Self.expectSuccess(double, "2 ranks")
        let reference = try BenchProcess.stepLosses(directory.file("1.json"))
        let parallel = try BenchProcess.stepLosses(directory.file("2.json"))
        let difference = Self.maximumRelativeDifference(reference, parallel, count: 20)
        #expect(difference <= 1e-5, "largest relative loss difference \(difference)")
        #expect(try BenchProcess.results(directory.file("2.json"))["ranks"] as? Int == 2)
        #expect(try BenchProcess.results(directory.file("1.json"))["ranks"] as? Int == 1)
        #expect(double.output.components(separatedBy: "eval step 10").count == 2, "rank 0 alone prints")
    }

    /// The same 2-rank run twice: identical losses and bit-identical final parameters and moments.
    @Test func twoRankRunRepeatsBitForBit() throws {
        let directory = try TemporaryDirectory("dp-repeat")
        defer { directory.remove() }
        for name in ["a", "b"] {
            let outcome = try BenchProcess.run(Self.arguments(["--json", directory.file("\(name).json"),
                                                               "--checkpoint", directory.file("\(name).safetensors")]), ranks: 2)
            Self.expectSuccess(outcome, "run \(name)")
        }
        #expect(try BenchProcess.stepLosses(directory.file("a.json")) == BenchProcess.stepLosses(directory.file("b.json")))
        // The files differ only in the configuration metadata, which names each run's checkpoint path.
        let (a, b) = (try Checkpoint.read(from: directory.file("a.safetensors")), try Checkpoint.read(from: directory.file("b.safetensors")))
        #expect(a.tensors.count == b.tensors.count && a.tensors.count > 0)
        #expect(a.tensors.map(\.bytes) == b.tensors.map(\.bytes))
    }

    /// Checkpoints hold the global state only: 2 ranks stop at step 10 and 1 process resumes,
    /// and the other way round; both continue the uninterrupted 1-process trajectory.
    @Test func resumeWithAnotherRankCount() throws {
        let directory = try TemporaryDirectory("dp-resume")
        defer { directory.remove() }
        Self.expectSuccess(try BenchProcess.run(Self.arguments(["--json", directory.file("full.json")]), ranks: nil), "full run")
        let full = try BenchProcess.stepLosses(directory.file("full.json"))
        for (first, second) in [(2, nil), (nil, 2)] as [(Int?, Int?)] {
            let checkpoint = directory.file("half-\(first ?? 1).safetensors")
            Self.expectSuccess(try BenchProcess.run(Self.arguments(["--checkpoint", checkpoint, "--stop-at-step", "10"]), ranks: first),
                               "first half on \(first ?? 1) rank(s)")
            let json = directory.file("resumed-\(second ?? 1).json")
            let resumed = try BenchProcess.run(Self.arguments(["--resume", checkpoint, "--json", json]), ranks: second)
            Self.expectSuccess(resumed, "second half on \(second ?? 1) rank(s)")
            let difference = Self.maximumRelativeDifference(Array(full.suffix(10)), try BenchProcess.stepLosses(json), count: 10)
            #expect(difference <= 1e-5, "resumed on \(second ?? 1) from \(first ?? 1): largest relative loss difference \(difference)")
        }
    }

    /// Rank 1 is killed mid-run while rank 0 writes a checkpoint at every second step: the job
    /// ends with an error (Open MPI's launcher ends the surviving rank), and the checkpoint on
    /// disk is a complete one, with no temporary file left beside it.
    @Test func killedRankStopsTheJob() throws {
        let directory = try TemporaryDirectory("dp-kill")
        defer { directory.remove() }
        let checkpoint = directory.file("run.safetensors")
        let command = ["mpirun"] + BenchProcess.mpirunOptions(ranks: 2) + [BenchProcess.benchPath]
            + Self.arguments(steps: 1_000_000, ["--eval-interval", "2", "--checkpoint", checkpoint])
        let running = try BenchProcess.start(command)
        let deadline = monotonicSeconds() + BenchProcess.hangGuardSeconds
        while !running.output.contains("step 7/"), running.process.isRunning, monotonicSeconds() < deadline { usleep(20_000) }
        let victims = BenchProcess.rankProcesses(of: running.process.processIdentifier, rank: 1)
        #expect(victims.count == 1, "rank 1's process: \(victims); output \(running.output.suffix(1000))")
        let killed = monotonicSeconds()
        for pid in victims { kill(pid, SIGKILL) }
        let outcome = try BenchProcess.wait(running)
        let stopSeconds = monotonicSeconds() - killed
        print("data-parallel kill test: mpirun ended \(String(format: "%.2f", stopSeconds)) s after rank 1 was killed, status \(outcome.status)")
        #expect(outcome.status != 0, "the job must fail when a rank dies")
        let saved = try Checkpoint.read(from: checkpoint)
        #expect(try saved.integerMetadata("step") >= 6)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["run.safetensors"])
    }

    /// A global batch that the ranks cannot share evenly: every rank stops, rank 0 says why.
    @Test func batchNotDivisibleByRanks() throws {
        let outcome = try BenchProcess.run(Self.arguments(batch: 15), ranks: 2)
        #expect(outcome.status != 0)
        #expect(outcome.errors.components(separatedBy: "does not split evenly over 2 ranks").count == 2,
                "one message, from rank 0: \(outcome.errors)")
    }

    /// A checkpoint of a wider model: rank 0 cannot resume it, and every rank stops.
    @Test func checkpointOfAnotherModel() throws {
        let directory = try TemporaryDirectory("dp-other-model")
        defer { directory.remove() }
        let checkpoint = directory.file("wide.safetensors")
        Self.expectSuccess(try BenchProcess.run(Self.arguments(steps: 2, ["--width", "24", "--checkpoint", checkpoint]), ranks: nil),
                           "wide model")
        let outcome = try BenchProcess.run(Self.arguments(["--resume", checkpoint]), ranks: 2)
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("was written by another model"), "\(outcome.errors)")
        #expect(outcome.errors.contains("\"width\":24"), "\(outcome.errors)")
    }

    /// Ranks started with different options (here the seed): the configuration hashes differ.
    @Test func ranksWithDifferentConfigurations() throws {
        let outcome = try BenchProcess.runPerRank([Self.arguments(seed: 3), Self.arguments(seed: 4)])
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("rank(s) 1 run with a configuration or build other than rank 0's"), "\(outcome.errors)")
    }
}
