import Foundation
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs the `pixelfly-bench` executable built next to this test binary (`swift test` builds
/// every product), alone or under `mpirun`, for the data-parallel tests.
///
/// `mpirun` gets `--oversubscribe` (more ranks than this machine's cores), `--bind-to none`
/// (a rank may use more than one core) and, when the tests run as root (CI), the
/// `--allow-run-as-root` that Open MPI otherwise refuses to start without. Shared-memory
/// transfers use plain copies (`btl_vader_single_copy_mechanism=none`), because the default,
/// cross-memory attach, needs ptrace rights that containers often withhold.
enum BenchProcess {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
        let seconds: Double
    }

    /// A failure of the harness itself (no binary, no mpirun, a run that hung).
    struct HarnessError: Error, CustomStringConvertible {
        let description: String
    }

    /// Longest a run may take before it is killed and reported as hung: a guard against a test
    /// waiting forever, not a speed requirement (each run takes a few seconds).
    static let hangGuardSeconds = 300.0

    static var benchPath: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("pixelfly-bench").path
    }

    static func mpirunOptions(ranks: Int) -> [String] {
        (geteuid() == 0 ? ["--allow-run-as-root"] : []) + ["--oversubscribe", "--bind-to", "none", "-np", String(ranks)]
    }

    /// `pixelfly-bench arguments…`, alone (`ranks == nil`) or as `mpirun -np ranks`, with
    /// `environment` added to this process's.
    static func run(_ arguments: [String], ranks: Int?, environment: [String: String] = [:]) throws -> Outcome {
        try wait(start(ranks.map { ["mpirun"] + mpirunOptions(ranks: $0) + [benchPath] + arguments } ?? [benchPath] + arguments,
                       environment: environment))
    }

    /// One `mpirun` starting a differently configured bench per rank (MPMD: `a : b`).
    static func runPerRank(_ argumentsPerRank: [[String]]) throws -> Outcome {
        var command = ["mpirun"] + mpirunOptions(ranks: 1).dropLast(2)
        for (index, arguments) in argumentsPerRank.enumerated() {
            if index > 0 { command.append(":") }
            command += ["-np", "1", benchPath] + arguments
        }
        return try wait(start(command))
    }

    struct Running {
        let process: Process
        let outputPath: String
        let errorPath: String
        let started: Double
        var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    }

    static func start(_ command: [String], environment added: [String: String] = [:]) throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: benchPath) else {
            throw HarnessError(description: "\(benchPath) is missing; build it with `swift build`")
        }
        let directory = try TemporaryDirectory("bench-process")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        environment.merge(added) { _, new in new }
        process.environment = environment
        let (outputPath, errorPath) = (directory.file("stdout"), directory.file("stderr"))
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        do { try process.run() } catch {
            throw HarnessError(description: "cannot start \(command.joined(separator: " ")): \(error) (is openmpi-bin installed? `make setup`)")
        }
        return Running(process: process, outputPath: outputPath, errorPath: errorPath, started: monotonicSeconds())
    }

    /// Waits for the run to end (killing it after `hangGuardSeconds`).
    static func wait(_ running: Running) throws -> Outcome {
        while running.process.isRunning {
            if monotonicSeconds() - running.started > hangGuardSeconds {
                running.process.terminate()
                throw HarnessError(description: "\(running.process.arguments ?? []) still running after \(hangGuardSeconds) s: "
                    + running.output)
            }
            usleep(20_000)
        }
        let seconds = monotonicSeconds() - running.started
        let (output, errors) = (running.output, (try? String(contentsOfFile: running.errorPath, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: running.outputPath).deletingLastPathComponent().path)
        return Outcome(status: running.process.terminationStatus, output: output, errors: errors, seconds: seconds)
    }

    /// Process ids of the children of `parent` whose environment holds `OMPI_COMM_WORLD_RANK=rank`.
    static func rankProcesses(of parent: Int32, rank: Int) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }

    /// `results.stepLosses` of a `--json` file.
    static func stepLosses(_ path: String) throws -> [Double] {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        guard let results = document?["results"] as? [String: Any], let losses = results["stepLosses"] as? [Double] else {
            throw HarnessError(description: "\(path) has no results.stepLosses")
        }
        return losses
    }

    /// A `--json` file's `results` object.
    static func results(_ path: String) throws -> [String: Any] {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        guard let results = document?["results"] as? [String: Any] else { throw HarnessError(description: "\(path) has no results") }
        return results
    }
}
