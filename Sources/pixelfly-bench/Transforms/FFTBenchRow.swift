import Butterfly
import Foundation
import FFTWOracle
import PixelflyCore

/// Max absolute error and max error relative to the reference's largest magnitude.
struct TransformError: Codable, Sendable {
    var maxAbs: Double
    var maxRel: Double

    init<S: BinaryFloatingPoint>(_ actual: UnsafeBufferPointer<S>, _ reference: [Double]) {
        var worst = 0.0, scale = 0.0
        for (a, r) in zip(actual, reference) {
            worst = max(worst, abs(Double(a) - r))
            scale = max(scale, abs(r))
        }
        maxAbs = worst
        maxRel = scale == 0 ? worst : worst / scale
    }
}

/// One line of `pixelfly-bench fft`: one precision and length.
struct FFTBenchRow: Codable, Sendable {
    var precision: String
    var n: Int
    var batch: Int
    var dft: TransformError
    var inverseDFT: TransformError
    var hadamard: TransformError
    var dct2: TransformError
    /// FFTW's own forward DFT in this precision against FFTW in Double, for scale.
    var fftwDFT: TransformError
    /// Seconds per transform (median over repetitions of a timed batch loop).
    var butterflySeconds: Double
    var fftwEstimateSeconds: Double
    var fftwMeasureSeconds: Double
    var ratioToEstimate: Double
    var ratioToMeasure: Double

    var cells: [String] {
        let e = { (x: Double) in formatScientific(x) }
        return [precision, "\(n)", e(dft.maxAbs), e(dft.maxRel), e(inverseDFT.maxRel), e(hadamard.maxRel), e(dct2.maxRel), e(fftwDFT.maxRel),
                format(butterflySeconds * 1e6, 3), format(fftwEstimateSeconds * 1e6, 3), format(fftwMeasureSeconds * 1e6, 3),
                format(ratioToEstimate, 2), format(ratioToMeasure, 2)]
    }

    static func measure<S: FFTWScalar>(_: S.Type, n: Int, batch: Int, timing: TimingOptions) throws -> FFTBenchRow {
        var rng = SeededRandom(seed: UInt64(n))
        let complexSignal = (0..<(2 * n * batch)).map { _ in S(rng.uniform(-1, 1)) }
        let realSignal = (0..<(n * batch)).map { _ in S(rng.uniform(-1, 1)) }
        let workspace = ButterflyWorkspace()
        let doubles = { (values: [S]) in values.map(Double.init) }

        func error(_ transform: ButterflyTransform<S>, _ input: [S], _ reference: [Double]) -> TransformError {
            var output = [S](repeating: 0, count: transform.outputScalarsPerRow * batch)
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    transform.apply(input: x.baseAddress!, output: y.baseAddress!, batch: batch, workspace: workspace)
                }
            }
            return output.withUnsafeBufferPointer { TransformError($0, reference) }
        }

        let oracle = FFTWPlanCache<Double>()
        let forward = try oracle.apply(.forwardDFT, n: n, to: doubles(complexSignal))
        let backward = try oracle.apply(.backwardDFT, n: n, to: doubles(complexSignal)).map { $0 / Double(n) }
        let dct = try oracle.apply(.dct2, n: n, to: doubles(realSignal))
        let dft = try ButterflyTransform<S>.dft(n: n)
        let fftwOwn = try FFTWPlanCache<S>().apply(.forwardDFT, n: n, to: complexSignal)

        let estimate = try FFTWPlan<S>(.forwardDFT, n: n, batch: batch, flag: .estimate)
        let measure = try FFTWPlan<S>(.forwardDFT, n: n, batch: batch, flag: .measure)
        _ = estimate.input.update(fromContentsOf: complexSignal)
        _ = measure.input.update(fromContentsOf: complexSignal)
        let output = UnsafeMutableBufferPointer<S>.allocate(capacity: 2 * n * batch)
        defer { output.deallocate() }
        // Enough transforms per timed sample (≈ 2^20 complex points) to dwarf the clock.
        let inner = max(1, (1 << 20) / (n * batch))
        let samples = try measureInterleaved(warmup: timing.warmup, repetitions: timing.repetitions, [
            { for _ in 0..<inner { dft.apply(input: estimate.input.baseAddress!, output: output.baseAddress!, batch: batch, workspace: workspace) } },
            { for _ in 0..<inner { estimate.execute() } },
            { for _ in 0..<inner { measure.execute() } },
        ])
        let perTransform = samples.map { $0.median / Double(inner * batch) }
        return FFTBenchRow(
            precision: S.self == Float.self ? "f32" : "f64", n: n, batch: batch,
            dft: error(dft, complexSignal, forward),
            inverseDFT: error(try .dft(n: n, direction: .inverse, normalization: .byN), complexSignal, backward),
            hadamard: error(try .hadamard(n: n), realSignal, sylvesterHadamard(doubles(realSignal), n: n)),
            dct2: error(try .dct2(n: n), realSignal, dct),
            fftwDFT: fftwOwn.withUnsafeBufferPointer { TransformError($0, forward) },
            butterflySeconds: perTransform[0], fftwEstimateSeconds: perTransform[1], fftwMeasureSeconds: perTransform[2],
            ratioToEstimate: perTransform[0] / perTransform[1], ratioToMeasure: perTransform[0] / perTransform[2])
    }

    /// The Walsh–Hadamard transform of each length-n row by H_{2m} = [[H_m, H_m], [H_m, −H_m]],
    /// in Double: the explicit reference for the butterfly Hadamard.
    static func sylvesterHadamard(_ rows: [Double], n: Int) -> [Double] {
        var x = rows
        var half = 1
        while half < n {
            for start in stride(from: 0, to: x.count, by: 2 * half) {
                for i in start..<(start + half) { (x[i], x[i + half]) = (x[i] + x[i + half], x[i] - x[i + half]) }
            }
            half *= 2
        }
        return x
    }
}

/// `value` as d.dde±xx.
func formatScientific(_ value: Double) -> String { String(format: "%.2e", value) }
