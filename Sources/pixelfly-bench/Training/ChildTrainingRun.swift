import Foundation
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// What the parent needs of a `pixelfly-bench train … --json FILE` child (started by
/// `InterleavedChildTrainings`): this same executable's path, re-executed with the parent's
/// environment (so the same `OPENBLAS_CORETYPE`); the child's output line by line; and its JSON
/// result once it has exited, or a `Failure` that says why there is none. A child starts from a
/// fresh heap and fresh caches, as a user's run would, and the parent holds no model memory
/// meanwhile.
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
        /// The program `arguments` were given to, as the message names it.
        var program = "pixelfly-bench"
        var description: String { "child run `\(program) \(arguments.joined(separator: " "))` \(reason)" }
    }

    /// The path of the running executable (`/proc/self/exe`), falling back to argv[0].
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Waits for a started child, then reads its JSON result; throws `Failure` if it exited with
    /// a failure, was killed, or wrote no readable result.
    static func result(of process: Process, arguments: [String], jsonPath: String) throws -> Document {
        if let failure = exitFailure(of: process) { throw Failure(arguments: arguments, reason: failure) }
        do {
            return try read(jsonPath)
        } catch {
            throw Failure(arguments: arguments, reason: "wrote no readable result at \(jsonPath) (\(error))")
        }
    }

    /// Waits for `process` to end; nil when it exited with status 0, else how it ended
    /// ("exited with status 3", "was killed by signal 9").
    static func exitFailure(of process: Process) -> String? {
        process.waitUntilExit()
        if process.terminationReason == .exit, process.terminationStatus == 0 { return nil }
        let how = process.terminationReason == .exit ? "exited with status" : "was killed by signal"
        return "\(how) \(process.terminationStatus)"
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
