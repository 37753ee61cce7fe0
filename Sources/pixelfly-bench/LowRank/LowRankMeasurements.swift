import ArgumentParser
import Butterfly
import LowRank
import PixelflyCore

/// Time of one thin SVD of a Kaiming-drawn (out, in) weight, and its reconstruction error.
struct SVDTiming: Codable {
    var output: Int
    var input: Int
    var time: TimingSample
    /// ‖A − UΣVᵀ‖_F / ‖A‖_F.
    var relativeError: Double
    var rank: Int
    /// `bestRankApproximation(rank:method: .randomized())`.
    var randomizedTime: TimingSample
    /// Its ‖A − A_r‖_F ÷ the Eckart–Young error (≥ 1).
    var randomizedErrorRatio: Double

    static func measure(output: Int, input: Int, rank: Int, timing: TimingOptions) throws -> SVDTiming {
        var rng = SeededRandom(seed: 3)
        let a = Matrix<Float>(rows: output, cols: input, initializer: .linearDefault, rng: &rng)
        var svd: SingularValueDecomposition<Float>?
        let time = try pixelflyMeasure(warmup: 0, repetitions: timing.repetitions) { svd = try SingularValueDecomposition(a) }
        let reconstruction = try svd!.reconstruction()
        var squared = 0.0
        for (x, y) in zip(a.storage, reconstruction.storage) { squared += Double(x - y) * Double(x - y) }
        var randomized: RankApproximation<Float>?
        let randomizedTime = try pixelflyMeasure(warmup: 0, repetitions: timing.repetitions) {
            randomized = try bestRankApproximation(a, rank: rank, method: .randomized())
        }
        let eckartYoung = svd!.singularValues.dropFirst(rank).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return SVDTiming(output: output, input: input, time: time, relativeError: squared.squareRoot() / a.frobeniusNorm,
                         rank: rank, randomizedTime: randomizedTime, randomizedErrorRatio: randomized!.error / eckartYoung)
    }
}

/// LowRankLinear forward and forward+backward time ÷ DenseLinear's, same process and threads.
struct LowRankLayerTiming: Codable {
    var input: Int
    var output: Int
    var batch: Int
    var rank: Int
    /// r·(in + out) / (in·out): the FLOP fraction the structure needs.
    var flopRatio: Double
    var forwardRatio: Double
    var trainingStepRatio: Double
    var denseTrainingStep: TimingSample
    var lowRankTrainingStep: TimingSample

    static func measure(input: Int, output: Int, batch: Int, rank: Int, timing: TimingOptions) throws -> LowRankLayerTiming {
        var rng = SeededRandom(seed: 4)
        let layers: [any LinearLayer<Float>] = [
            try DenseLinear<Float>(input, output, rng: &rng),
            try LowRankLinear<Float>(input, output, rank: rank, bias: true, rng: &rng),
        ]
        let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Float>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var ys = Array(repeating: Matrix<Float>(rows: 0, cols: 0), count: 2)
        var dxs = ys
        let forwards: [() throws -> Void] = (0..<2).map { i in { try layers[i].forward(x, into: &ys[i]) } }
        let steps: [() throws -> Void] = (0..<2).map { i in {
            try layers[i].forward(x, into: &ys[i])
            try layers[i].backward(input: x, outputGradient: dy, inputGradient: &dxs[i])
        } }
        let forward = try measureInterleaved(warmup: timing.warmup, repetitions: timing.repetitions, forwards)
        let step = try measureInterleaved(warmup: timing.warmup, repetitions: timing.repetitions, steps)
        return LowRankLayerTiming(
            input: input, output: output, batch: batch, rank: rank,
            flopRatio: Double(layers[1].forwardFLOPsPerRow) / Double(layers[0].forwardFLOPsPerRow),
            forwardRatio: forward[1].median / forward[0].median,
            trainingStepRatio: step[1].median / step[0].median,
            denseTrainingStep: step[0], lowRankTrainingStep: step[1])
    }
}

/// Converting an n×n weight to S (on the B = 16, K = 2, b = 32 flat butterfly blocks) + rank r.
struct SparsePlusLowRankConversion: Codable {
    var weight: String
    var iterations: Int
    var stopReason: String
    var relativeResidual: Double
    /// ‖W − W_r‖/‖W‖: the best the low-rank term alone can do.
    var lowRankOnlyResidual: Double
    /// ‖W off the support‖/‖W‖: the best the sparse term alone can do.
    var sparseOnlyResidual: Double
    var seconds: Double

    static func measure(size: Int, rank: Int, iterations: Int, method: TruncatedSVDMethod) throws -> [SparsePlusLowRankConversion] {
        let mask = try FlatButterflyMask(outputFeatures: size, inputFeatures: size, configuration: FlatButterflyConfiguration())
        let b = mask.configuration.blockSize
        let support = try ElementSupport(rows: size, cols: size) { i, j in mask.blockIsSet(i / b, j / b) }
        var rng = SeededRandom(seed: 5)
        let dense = Matrix<Float>(rows: size, cols: size, initializer: .linearDefault, rng: &rng)
        let sparsePart = try support.restrict(Matrix<Float>(rows: size, cols: size, initializer: .linearDefault, rng: &rng))
        let left = Matrix<Float>(rows: size, cols: rank, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let right = Matrix<Float>(rows: rank, cols: size, initializer: .linearDefault, rng: &rng)
        let lowRankPart = try matmul(left, .none, right, .none)
        let planted = try Matrix(rows: size, cols: size, storage: zip(lowRankPart.storage, sparsePart.storage).map(+))
        return try [("Kaiming-uniform dense draw", dense), ("planted S + rank-\(rank)", planted)].map { name, w in
            let start = monotonicSeconds()
            let projection = try projectOntoSparsePlusLowRank(w, support: support, rank: rank, maxIterations: iterations, tolerance: 1e-6,
                                                              method: method)
            let seconds = monotonicSeconds() - start
            let norm = w.frobeniusNorm
            let offSupport = try Matrix(rows: size, cols: size, storage: zip(w.storage, support.mask).map { $1 ? 0 : $0 })
            return SparsePlusLowRankConversion(
                weight: name, iterations: projection.iterations, stopReason: "\(projection.stopReason)",
                relativeResidual: projection.relativeResidual,
                lowRankOnlyResidual: try bestRankApproximation(w, rank: rank).error / norm,
                sparseOnlyResidual: offSupport.frobeniusNorm / norm, seconds: seconds)
        }
    }
}
