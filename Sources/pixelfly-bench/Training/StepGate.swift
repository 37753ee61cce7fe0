#if canImport(Glibc)
import Glibc
#endif

/// `train --step-gate N`: before every N-th training step (from step 0) the child prints
/// `StepGate.marker` and the step count, then waits until its parent writes one line to its
/// standard input. The default job runs the dense and the Pixelfly training this way, in turn,
/// N steps at a time (`InterleavedChildTrainings`), so that both step-time distributions cover
/// the same stretch of wall-clock time: on a machine whose speed drifts over minutes (a
/// virtual machine with busy neighbours), the two runs one after the other measured the same
/// code's Mixer speed-up at 2.34× and 3.38× (notebooks-md/kernel-passes/09-first-intel-xeon.md).
/// The wait is outside the step timer (`runTraining`'s `beforeStep`).
/// `scripts/pytorch-baseline.py --step-gate N` keeps the same protocol, so that PyTorch's step
/// can take turns with the trainings as a companion (`InterleavedChildTrainings.Companion`).
///
/// End of file (or a read error) on standard input means the parent has gone — killed, or
/// stopped before this child's turn came — and the gate throws `ParentGone`, which ends the run
/// with a failure: an orphan that went on ungated would train on all the cores beside whatever
/// runs next, at full speed, for nobody (seen once when a `reproduce` job was stopped with a
/// SIGTERM to the parent alone).
struct StepGate {
    static let marker = "pixelfly-step-gate"

    /// Standard input ended at a gate: nobody is left to open it.
    struct ParentGone: Error, CustomStringConvertible {
        var step: Int
        var description: String {
            "train --step-gate: standard input ended before step \(step) (the parent that opens the gate has gone); stopping"
        }
    }

    let every: Int

    /// `every` ≥ 1 (`train` validates `--step-gate` before it gets here).
    init(every: Int) {
        precondition(every > 0, "StepGate needs an interval of at least 1 step")
        self.every = every
    }

    /// Waits for the parent's line when `step` is a multiple of `every`; throws `ParentGone` if
    /// standard input ends first.
    func wait(beforeStep step: Int) throws {
        guard step % every == 0 else { return }
        print("\(Self.marker) \(step)")
        fflush(nil)
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count == 1, byte == 10 { return }
            if count == 0 || (count < 0 && errno != EINTR) { throw ParentGone(step: step) }
        }
    }
}
