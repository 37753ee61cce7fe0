import Dispatch
import Foundation
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Several `pixelfly-bench train … --json FILE` children run in turn, `gateEvery` steps at a
/// time (`train --step-gate`, `StepGate`): all start together and set up (data, model) side by
/// side; then child 0 runs `gateEvery` steps while the others wait at their gates, then child
/// 1, and so on, round after round, until each has finished (its last evaluation and its JSON
/// included). Only one trains at any moment, on all the compute threads, and each is still a
/// fresh process; their step times, however, are drawn from the
/// same stretch of wall-clock time, so that a machine whose speed moves over minutes moves both
/// alike. Every output line is relayed with its child's prefix; the gate lines are not.
enum InterleavedChildTrainings {
    struct Child {
        /// `train` arguments, without `train`, `--threads`, `--json` and `--step-gate`.
        var arguments: [String]
        var jsonPath: String
        var prefix: String
    }

    /// One running child: its process, its standard input, and what its relay thread saw.
    private final class Running: @unchecked Sendable {
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        let arguments: [String]
        /// Signalled at every gate line and once at the end of the child's output.
        let reachedGateOrEnd = DispatchSemaphore(value: 0)
        /// Set (before the last signal) when the output ended.
        var ended = false

        init(arguments: [String]) { self.arguments = arguments }
    }

    /// Runs `children` interleaved and returns their results in the same order. Each relayed
    /// line goes to `output` (standard output, flushed, by default); `executable` is this
    /// program unless a test runs the bench from elsewhere.
    static func run(_ children: [Child], threads: Int, gateEvery: Int,
                    executable: String = ChildTrainingRun.executablePath,
                    output: @escaping @Sendable (String) -> Void = { print($0); fflush(nil) }) throws -> [ChildTrainingRun.Document] {
        precondition(gateEvery > 0, "gateEvery must be positive")
        signal(SIGPIPE, SIG_IGN)   // a child that died must not take the parent with it
        var running: [Running] = []
        defer {
            for child in running where child.process.isRunning { child.process.terminate() }
        }
        for child in children {
            try? FileManager.default.removeItem(atPath: child.jsonPath)
            let full = ["train"] + child.arguments
                + ["--threads", "\(threads)", "--json", child.jsonPath, "--step-gate", "\(gateEvery)"]
            let state = Running(arguments: full)
            state.process.executableURL = URL(fileURLWithPath: executable)
            state.process.arguments = full
            state.process.standardInput = state.input
            state.process.standardOutput = state.output
            state.process.standardError = state.output
            do {
                try state.process.run()
            } catch {
                throw ChildTrainingRun.Failure(arguments: full, reason: "could not start (\(error.localizedDescription))")
            }
            running.append(state)
            let prefix = child.prefix
            Thread { relay(state, prefix: prefix, output: output) }.start()
        }
        // Set-up side by side, up to each child's first gate (step 0).
        for child in running { child.reachedGateOrEnd.wait() }
        var active = running.filter { !$0.ended }
        while !active.isEmpty {
            for child in active {
                try? child.input.fileHandleForWriting.write(contentsOf: Data([10]))
                child.reachedGateOrEnd.wait()
            }
            active.removeAll { $0.ended }
        }
        var documents: [ChildTrainingRun.Document] = []
        for (child, state) in zip(children, running) {
            documents.append(try ChildTrainingRun.result(of: state.process, arguments: state.arguments, jsonPath: child.jsonPath))
        }
        return documents
    }

    /// Hands `output` the child's output line by line with `prefix`, signalling at
    /// each gate line (not printed) and at the end.
    private static func relay(_ child: Running, prefix: String, output: (String) -> Void) {
        ChildTrainingRun.forEachLine(of: child.output.fileHandleForReading) { line in
            if line.hasPrefix(StepGate.marker) {
                child.reachedGateOrEnd.signal()
            } else {
                output(prefix + line)
            }
        }
        child.ended = true
        child.reachedGateOrEnd.signal()
    }
}
