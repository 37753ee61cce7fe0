import ArgumentParser
import PixelflyCore

/// Dense sgemm throughput: the yardstick every other figure is a ratio against.
struct GemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Dense sgemm GFLOP/s for an n×n×n product on 1 and 2 threads (checks the BLAS kernel choice).")

    @Option(help: "Matrix size n of the n×n×n product.")
    var size: Int = 1024

    @Option(parsing: .upToNextOption, help: "Thread counts to measure.")
    var threads: [Int] = [1, 2]

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @OptionGroup var timing: TimingOptions

    func run() throws {
        let environment = RunEnvironment.current()
        print(environment.header)
        let rows = try GemmThroughput.measure(size: size, threads: threads, timing: timing)
        for row in rows { print(row.line) }
        for line in GemmThroughput.scalingWarnings(rows, physicalCores: environment.physicalCores) { print(line) }
        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "gemm", environment: environment,
                configuration: ["size": "\(size)", "threads": "\(threads)", "repetitions": "\(timing.repetitions)"],
                results: rows))
        }
    }
}

/// One sgemm throughput measurement.
struct GemmThroughput: Codable, Sendable {
    var size: Int
    var threads: Int
    var time: TimingSample
    var gflops: Double

    var line: String {
        "sgemm \(size)³, \(threads) thread\(threads == 1 ? "" : "s"): \(format(gflops, 1)) GFLOP/s "
            + "(median \(format(time.median * 1e3, 2)) ms, min \(format(time.min * 1e3, 2)), max \(format(time.max * 1e3, 2)), \(time.repetitions) runs)"
    }

    static func measure(size: Int, threads: [Int], timing: TimingOptions) throws -> [GemmThroughput] {
        guard size > 0 else { throw ValidationError("--size must be positive") }
        guard threads.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads must be at least 1") }
        var rng = SeededRandom(seed: 1)
        let a = Matrix<Float>(rows: size, cols: size, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let b = Matrix<Float>(rows: size, cols: size, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var c = Matrix<Float>(rows: size, cols: size)
        let saved = ComputeThreads.count
        defer { try? ComputeThreads.setCount(saved) }
        return try threads.map { count in
            try ComputeThreads.setCount(count)
            let sample = try pixelflyMeasure(warmup: timing.warmup, repetitions: timing.repetitions) {
                try gemm(a, .none, b, .none, into: &c)
            }
            let flops = 2 * Double(size) * Double(size) * Double(size)
            return GemmThroughput(size: size, threads: count, time: sample, gflops: flops / sample.median / 1e9)
        }
    }
}

extension GemmThroughput {
    /// The share of linear scaling below which a multi-thread row says that another load shared
    /// the cores while the yardstick ran. 2-core guests gave 1.67–2.00× the 1-thread rate on 2
    /// threads in the 17 yardsticks tabled in notebooks-md/bench-history.md; one job whose second
    /// vCPU was held from outside the guest gave 0.97× and was run again
    /// (notebooks-md/kernel-passes/33-the-gap-by-part.md).
    static let minimumScaling = 0.8

    /// A warning for each row on t > 1 threads that ran below `minimumScaling` × t × the 1-thread
    /// row's GFLOP/s (same size), when the machine has at least t physical cores (with fewer the
    /// threads share a core and cannot scale); none when every row scales or there is no 1-thread
    /// row to compare with.
    static func scalingWarnings(_ rows: [GemmThroughput], physicalCores: Int?) -> [String] {
        rows.compactMap { row in
            guard row.threads > 1, row.threads <= (physicalCores ?? 0),
                  let single = rows.first(where: { $0.threads == 1 && $0.size == row.size }), single.gflops > 0 else { return nil }
            let scaling = row.gflops / single.gflops
            guard scaling < minimumScaling * Double(row.threads) else { return nil }
            return "warning: sgemm on \(row.threads) threads ran at \(format(scaling, 2))× its 1-thread rate "
                + "(at least \(format(minimumScaling * Double(row.threads), 1))× is expected on \(row.threads) idle physical cores): "
                + "another load shared the cores, so figures on \(row.threads) threads from this run are suspect"
        }
    }
}
