import PixelflyCore

/// Summary of repeated timings of one piece of work.
struct TimingSample: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double
    var repetitions: Int

    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        repetitions = sorted.count
    }
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
