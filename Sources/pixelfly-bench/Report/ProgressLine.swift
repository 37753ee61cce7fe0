import Foundation

/// A live progress line (step, loss, throughput, ETA) that rewrites itself on a terminal and
/// degrades to one plain line every `plainEvery` updates when output is a file or pipe.
struct ProgressLine {
    let total: Int
    let label: String
    let start = Date()
    let isTerminal = isatty(STDOUT_FILENO) != 0
    var plainEvery: Int
    private var lastLength = 0

    init(label: String, total: Int, plainEvery: Int = 50) {
        self.label = label
        self.total = max(total, 1)
        self.plainEvery = max(plainEvery, 1)
    }

    /// Reports progress after `done` of `total` units; `detail` is e.g. "loss 0.512".
    mutating func update(_ done: Int, _ detail: String) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = Double(total - done) / max(rate, 1e-9)
        let line = "\(label) \(done)/\(total)  \(detail)  \(format(rate, 1))/s  ETA \(format(eta, 0)) s"
        if isTerminal {
            let padding = String(repeating: " ", count: max(0, lastLength - line.count))
            FileHandle.standardOutput.write(Data(("\r" + line + padding).utf8))
            lastLength = line.count
            if done >= total { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } else if done % plainEvery == 0 || done >= total {
            print(line)
        }
    }
}
