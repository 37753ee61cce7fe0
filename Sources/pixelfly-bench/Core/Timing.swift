import PixelflyCore

/// Summary of repeated timings of one piece of work.
struct TimingSample: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double
    var repetitions: Int
    /// Every repetition's seconds, in the order they ran (pairs up with an interleaved sample).
    var seconds: [Double]

    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        repetitions = sorted.count
        self.seconds = seconds
    }
}

/// The spread of a ratio of two interleaved measurements: the smallest and largest per-repetition
/// ratio `numerator[i] / denominator[i]` (repetition i of both ran back to back, so drift in
/// machine speed cancels within a pair but shows between pairs).
struct RatioSpread: Codable, Sendable {
    var min: Double
    var max: Double

    init(_ numerator: TimingSample, over denominator: TimingSample) {
        let ratios = zip(numerator.seconds, denominator.seconds).map { $0 / $1 }
        min = ratios.min() ?? .nan
        max = ratios.max() ?? .nan
    }

    init(min: Double, max: Double) {
        self.min = min
        self.max = max
    }

    func contains(_ value: Double) -> Bool { min <= value && value <= max }
}

/// Times `body` `repetitions` times after `warmup` untimed runs.
func pixelflyMeasure(warmup: Int, repetitions: Int, _ body: () throws -> Void) rethrows -> TimingSample {
    for _ in 0..<warmup { try body() }
    var seconds: [Double] = []
    seconds.reserveCapacity(repetitions)
    for _ in 0..<repetitions {
        let start = monotonicSeconds()
        try body()
        seconds.append(monotonicSeconds() - start)
    }
    return TimingSample(seconds)
}

/// Times several candidates interleaved (A B C A B C …) so drift in machine speed hits all of
/// them alike. Returns one sample per candidate, in order.
func measureInterleaved(warmup: Int, repetitions: Int, _ bodies: [() throws -> Void]) throws -> [TimingSample] {
    for _ in 0..<warmup { for body in bodies { try body() } }
    var seconds = Array(repeating: [Double](), count: bodies.count)
    for _ in 0..<repetitions {
        for (i, body) in bodies.enumerated() {
            let start = monotonicSeconds()
            try body()
            seconds[i].append(monotonicSeconds() - start)
        }
    }
    return seconds.map(TimingSample.init)
}
