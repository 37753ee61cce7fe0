import Foundation
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// One `pixelfly-bench train … --json FILE` run in a child process: this same executable,
/// re-executed with the parent's environment (so the same `OPENBLAS_CORETYPE`) and an explicit
/// `--threads`. A child starts from a fresh heap and fresh caches, as a user's run would, and
/// the parent holds no model memory meanwhile. The child's output is relayed line by line (each
/// line prefixed and flushed), then its JSON result is decoded.
struct ChildTrainingRun {
    /// What `train --json` writes (`ResultDocument<TrainingResult>`), the fields the parent reads.
    struct Document: Decodable {
        var command: String
        var environment: RunEnvironment
        var configuration: [String: String]
        var results: TrainingResult
    }

    /// A child that could not start, exited with a failure, or wrote no readable result.
    struct Failure: Error, CustomStringConvertible {
        var arguments: [String]
        var reason: String
        var description: String { "child run `pixelfly-bench \(arguments.joined(separator: " "))` \(reason)" }
    }

    /// The path of the running executable (`/proc/self/exe`), falling back to argv[0].
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Runs `train` with `arguments` (without `--json` and `--threads`, which this adds), writing
    /// the child's JSON to `jsonPath`; relays every output line as `prefix + line`.
    static func run(_ arguments: [String], threads: Int, jsonPath: String, prefix: String) throws -> Document {
        let full = ["train"] + arguments + ["--threads", "\(threads)", "--json", jsonPath]
        try? FileManager.default.removeItem(atPath: jsonPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = full
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            throw Failure(arguments: full, reason: "could not start (\(error.localizedDescription))")
        }
        forEachLine(of: pipe.fileHandleForReading) { line in
            print(prefix + line)
            fflush(nil)
        }
        return try result(of: process, arguments: full, jsonPath: jsonPath)
    }

    /// Waits for a started child, then reads its JSON result; throws `Failure` if it exited with
    /// a failure, was killed, or wrote no readable result.
    static func result(of process: Process, arguments: [String], jsonPath: String) throws -> Document {
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with status" : "was killed by signal"
            throw Failure(arguments: arguments, reason: "\(how) \(process.terminationStatus)")
        }
        do {
            return try read(jsonPath)
        } catch {
            throw Failure(arguments: arguments, reason: "wrote no readable result at \(jsonPath) (\(error))")
        }
    }

    /// Decodes a `train --json` result file.
    static func read(_ path: String) throws -> Document {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(Document.self, from: Data(try readFileBytes(path)))
    }

    /// Hands `line` every line read from `handle` (without its newline) until end of file.
    static func forEachLine(of handle: FileHandle, _ line: (String) -> Void) {
        var pending: [UInt8] = []
        while true {
            let data = handle.availableData
            if data.isEmpty { break }
            pending += data
            while let newline = pending.firstIndex(of: 10) {
                line(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
    }
}
