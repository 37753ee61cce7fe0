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
///
/// A *companion* is another program that keeps the same gate protocol and takes one turn in
/// every round for as long as the trainings run (PyTorch's dense step, `PyTorchStep`, so that
/// the comparison with PyTorch is drawn from the same stretch of time too). It has no end of its
/// own: once the last training has finished, its standard input is closed, and it prints its
/// result and exits.
enum InterleavedChildTrainings {
    struct Child {
        /// `train` arguments, without `train`, `--threads`, `--json` and `--step-gate`.
        var arguments: [String]
        var jsonPath: String
        var prefix: String
    }

    /// A gated program that is not a `train` child: `executable` (an absolute path) and its
    /// arguments, its own gate interval among them.
    struct Companion {
        var executable: String
        var arguments: [String]
        var prefix: String
    }

    /// Every line a companion printed except its gate lines, in order, or why it failed.
    typealias CompanionOutput = Result<[String], ChildTrainingRun.Failure>

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
        /// Every line the child printed except its gate lines (kept for companions).
        var lines: [String] = []
        /// Set when the program could not be started; it then counts as ended.
        var startFailure: ChildTrainingRun.Failure?

        init(arguments: [String]) { self.arguments = arguments }

        /// Starts `executable` with `arguments` on this state's pipes, and its relay thread;
        /// `program` is how a failure names it.
        func start(_ executable: String, program: String, prefix: String, output: @escaping @Sendable (String) -> Void) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardInput = input
            process.standardOutput = self.output
            process.standardError = self.output
            do {
                try process.run()
            } catch {
                throw ChildTrainingRun.Failure(arguments: arguments, reason: "could not start (\(error.localizedDescription))",
                                               program: program)
            }
            Thread { InterleavedChildTrainings.relay(self, prefix: prefix, output: output) }.start()
        }

        /// The companion's outcome once its output has ended: its lines, or why it failed.
        func companionOutput(program: String) -> CompanionOutput {
            if let startFailure { return .failure(startFailure) }
            if let failure = ChildTrainingRun.exitFailure(of: process) {
                return .failure(.init(arguments: arguments, reason: failure + ": " + lines.suffix(3).joined(separator: " / "),
                                      program: program))
            }
            return .success(lines)
        }

        /// Lets the child run to its next gate (or its end), and waits for that.
        func takeTurn() {
            try? input.fileHandleForWriting.write(contentsOf: Data([10]))
            reachedGateOrEnd.wait()
        }
    }

    /// Runs `children` interleaved and returns their results in the same order. Each relayed
    /// line goes to `output` (standard output, flushed, by default); `executable` is this
    /// program unless a test runs the bench from elsewhere.
    static func run(_ children: [Child], threads: Int, gateEvery: Int,
                    executable: String = ChildTrainingRun.executablePath,
                    output: @escaping @Sendable (String) -> Void = { print($0); fflush(nil) }) throws -> [ChildTrainingRun.Document] {
        try run(children, companions: [], threads: threads, gateEvery: gateEvery, executable: executable, output: output).documents
    }

    /// Runs `children` interleaved with `companions`, each companion taking one turn after the
    /// trainings' turns in every round. A companion that fails does not stop the trainings: its
    /// output is then the failure. The trainings' results and the companions' outputs come back
    /// in the order given.
    static func run(_ children: [Child], companions: [Companion], threads: Int, gateEvery: Int,
                    executable: String = ChildTrainingRun.executablePath,
                    output: @escaping @Sendable (String) -> Void = { print($0); fflush(nil) })
        throws -> (documents: [ChildTrainingRun.Document], companions: [CompanionOutput]) {
        precondition(gateEvery > 0, "gateEvery must be positive")
        signal(SIGPIPE, SIG_IGN)   // a child that died must not take the parent with it
        var trainings: [Running] = []
        var others: [Running] = []
        defer {
            for child in trainings + others where child.process.isRunning { child.process.terminate() }
        }
        for child in children {
            try? FileManager.default.removeItem(atPath: child.jsonPath)
            let state = Running(arguments: ["train"] + child.arguments
                + ["--threads", "\(threads)", "--json", child.jsonPath, "--step-gate", "\(gateEvery)"])
            try state.start(executable, program: "pixelfly-bench", prefix: child.prefix, output: output)
            trainings.append(state)
        }
        for companion in companions {
            let state = Running(arguments: companion.arguments)
            do {
                try state.start(companion.executable, program: companion.executable, prefix: companion.prefix, output: output)
            } catch {
                state.startFailure = error as? ChildTrainingRun.Failure
                    ?? .init(arguments: companion.arguments, reason: "\(error)", program: companion.executable)
                state.ended = true
                state.reachedGateOrEnd.signal()
            }
            others.append(state)
        }
        // Set-up side by side, up to each child's first gate (step 0).
        for child in trainings + others { child.reachedGateOrEnd.wait() }
        var active = trainings.filter { !$0.ended }
        var activeCompanions = others.filter { !$0.ended }
        while !active.isEmpty {
            for child in active + activeCompanions { child.takeTurn() }
            active.removeAll { $0.ended }
            activeCompanions.removeAll { $0.ended }
        }
        for companion in activeCompanions {
            try? companion.input.fileHandleForWriting.close()
            companion.reachedGateOrEnd.wait()
        }
        var documents: [ChildTrainingRun.Document] = []
        for (child, state) in zip(children, trainings) {
            documents.append(try ChildTrainingRun.result(of: state.process, arguments: state.arguments, jsonPath: child.jsonPath))
        }
        let outputs = zip(companions, others).map { $1.companionOutput(program: $0.executable) }
        return (documents, outputs)
    }

    /// Hands `output` the child's output line by line with `prefix`, signalling at
    /// each gate line (not printed) and at the end.
    private static func relay(_ child: Running, prefix: String, output: (String) -> Void) {
        ChildTrainingRun.forEachLine(of: child.output.fileHandleForReading) { line in
            if line.hasPrefix(StepGate.marker) {
                child.reachedGateOrEnd.signal()
            } else {
                child.lines.append(line)
                output(prefix + line)
            }
        }
        child.ended = true
        child.reachedGateOrEnd.signal()
    }
}
