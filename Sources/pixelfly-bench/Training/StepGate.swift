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
/// The wait is outside the step timer (`runTraining`'s `beforeStep`). End of file on standard
/// input (no parent listening) lets the run go on ungated.
struct StepGate {
    static let marker = "pixelfly-step-gate"

    let every: Int
    private(set) var open = false

    /// `every` ≥ 1 (`train` validates `--step-gate` before it gets here).
    init(every: Int) {
        precondition(every > 0, "StepGate needs an interval of at least 1 step")
        self.every = every
    }

    /// Waits for the parent's line when `step` is a multiple of `every`.
    mutating func wait(beforeStep step: Int) {
        guard !open, step % every == 0 else { return }
        print("\(Self.marker) \(step)")
        fflush(nil)
        var byte: UInt8 = 0
        while true {
            let count = read(0, &byte, 1)
            if count == 1, byte == 10 { return }
            if count == 0 || (count < 0 && errno != EINTR) {
                open = true
                return
            }
        }
    }
}
