import ArgumentParser
import Butterfly
import LowRank
import PixelflyCore

/// Low-rank measurements: LAPACK SVD cost, LowRankLinear against dense, and the conversion of
/// a dense weight to flat-butterfly-sparse + low-rank.
struct LowRankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lowrank",
        abstract: "SVD time, LowRankLinear time ÷ dense time, and dense → sparse + low-rank conversion.")

    @Option(parsing: .upToNextOption, help: "Layer shapes as in×out, e.g. 1024x4096.")
    var shapes: [String] = ["1024x4096", "4096x1024", "768x3072", "3072x768"]

    @Option(parsing: .upToNextOption, help: "Batch sizes for the layer timings.")
    var batches: [Int] = [64, 512, 4096]

    @Option(help: "Rank of the low-rank layer and of the conversion's low-rank term.")
    var rank: Int = 64

    @Option(help: "Compute threads (OpenBLAS runs one thread per call on each).")
    var threads: Int = 1

    @Option(help: "Size n of the n×n weight converted to sparse + low-rank (B = 16, K = 2, b = 32 mask).")
    var convertSize: Int = 768

    @Option(help: "Alternating-projection iterations for the conversion.")
    var iterations: Int = 20

    @Flag(help: "Use the exact (full) SVD in the conversion's L steps instead of the randomized range finder.")
    var exactSVD = false

    @Option(help: "Independent layers drawn per initialisation for the variance table.")
    var draws: Int = 8

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @OptionGroup var timing: TimingOptions

    func run() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard draws >= 1 else { throw ValidationError("--draws must be at least 1") }
        guard rank >= 1 else { throw ValidationError("--rank must be at least 1") }
        let layerShapes = try shapes.map(Self.parseShape)
        try ComputeThreads.setCount(threads)
        let environment = RunEnvironment.current()
        print(environment.header)

        var initTable = Table(["init", "in→out", "rank", "mean W² ÷ 1/(3·in)", "std. error", "draws"])
        var initRows: [LowRankInitVariance] = []
        for (input, output) in layerShapes.prefix(1) {
            let rows = try LowRankInitVariance.measure(input: input, output: output, rank: min(rank, input, output), draws: draws)
            initRows += rows
            for row in rows {
                initTable.append([row.initialization, "\(input)→\(output)", "\(row.rank)", format(row.ratioToDense, 4),
                                  format(row.standardError, 4), "\(row.draws)"])
            }
        }
        print("\nProduct variance of the initialisations (1 = dense nn.Linear default):\n" + initTable.text)

        var svdTable = Table(["shape (out×in)", "sgesdd median ms", "min", "max", "rel. reconstruction error",
                              "randomized rank-\(rank) ms", "error ÷ Eckart–Young"])
        var svdRows: [SVDTiming] = []
        for (input, output) in layerShapes {
            let row = try SVDTiming.measure(output: output, input: input, rank: min(rank, input, output), timing: timing)
            svdRows.append(row)
            svdTable.append(["\(output)×\(input)", format(row.time.median * 1e3, 1), format(row.time.min * 1e3, 1),
                             format(row.time.max * 1e3, 1), String(format: "%.2e", row.relativeError),
                             format(row.randomizedTime.median * 1e3, 1), format(row.randomizedErrorRatio, 4)])
        }
        print("\nThin SVD (Float, LAPACK sgesdd, jobz = S):\n" + svdTable.text)

        var layerTable = Table(["in→out", "batch", "rank", "FLOP ratio", "fwd ÷ dense", "fwd+bwd ÷ dense", "dense fwd+bwd ms"])
        var layerRows: [LowRankLayerTiming] = []
        for (input, output) in layerShapes {
            for batch in batches {
                let row = try LowRankLayerTiming.measure(input: input, output: output, batch: batch, rank: rank, timing: timing)
                layerRows.append(row)
                layerTable.append(["\(input)→\(output)", "\(batch)", "\(rank)", format(row.flopRatio, 3),
                                   format(row.forwardRatio, 3), format(row.trainingStepRatio, 3),
                                   format(row.denseTrainingStep.median * 1e3, 2)])
            }
        }
        print("\nLowRankLinear vs DenseLinear (both with bias, called through `any LinearLayer<Float>`, interleaved medians):\n"
              + layerTable.text)

        let conversions = try SparsePlusLowRankConversion.measure(
            size: convertSize, rank: rank, iterations: iterations, method: exactSVD ? .exact : .randomized())
        var conversionTable = Table(["weight", "iterations", "stop", "rel. residual S+L", "rel. residual L only", "rel. residual S only", "seconds"])
        for row in conversions {
            conversionTable.append([row.weight, "\(row.iterations)", row.stopReason, String(format: "%.3e", row.relativeResidual),
                                    String(format: "%.3e", row.lowRankOnlyResidual), String(format: "%.3e", row.sparseOnlyResidual),
                                    format(row.seconds, 2)])
        }
        print("\nDense \(convertSize)×\(convertSize) → flat butterfly (B 16, K 2, b 32) + rank \(rank), Float, "
              + (exactSVD ? "exact SVD" : "randomized SVD (oversampling 10, 2 power iterations)") + ":\n" + conversionTable.text)

        if let json {
            try ResultsFolder.writeJSON(to: json, ResultDocument(
                command: "lowrank", environment: environment,
                configuration: ["shapes": "\(shapes)", "batches": "\(batches)", "rank": "\(rank)", "threads": "\(threads)",
                                "convertSize": "\(convertSize)", "draws": "\(draws)", "iterations": "\(iterations)", "exactSVD": "\(exactSVD)", "repetitions": "\(timing.repetitions)"],
                results: LowRankResults(initialization: initRows, svd: svdRows, layers: layerRows, conversions: conversions)))
        }
    }

    static func parseShape(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("shape '\(text)' is not IN×OUT with positive sizes, e.g. 1024x4096")
        }
        return (parts[0], parts[1])
    }
}

struct LowRankResults: Codable {
    var initialization: [LowRankInitVariance]
    var svd: [SVDTiming]
    var layers: [LowRankLayerTiming]
    var conversions: [SparsePlusLowRankConversion]
}
