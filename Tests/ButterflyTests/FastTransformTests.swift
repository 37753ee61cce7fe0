import Butterfly
import FFTWOracle
import PixelflyCore
import Testing

/// Every power-of-two construction against FFTW (DFT, inverse DFT, DCT-II) or the explicit
/// Hadamard recursion, for n = 2 … 2^16, in Float and Double. References are computed in
/// Double from the same (rounded) input; errors are max abs error over max |reference|, within
/// `TransformCheck.tolerance` = 4·log₂(n)·ε. Up to n = 256 the batch is 11 (SIMD chunks plus
/// padded tail lanes); above, 2 vectors (the one-lane path), which keeps the debug-build run of
/// n = 2^16 to seconds.
@Suite("Fast transforms vs FFTW (powers of two)")
struct FastTransformTests {
    static let exponents = Array(1...16)

    @Test(arguments: exponents)
    func dftFamilyMatchesFFTW(log2n: Int) throws {
        try checkDFTFamily(Float.self, n: 1 << log2n)
        try checkDFTFamily(Double.self, n: 1 << log2n)
    }

    @Test(arguments: exponents)
    func hadamardAndDCTMatchReferences(log2n: Int) throws {
        try checkHadamardAndDCT(Float.self, n: 1 << log2n)
        try checkHadamardAndDCT(Double.self, n: 1 << log2n)
    }

    func batch(_ n: Int) -> Int { n <= 256 ? 11 : 2 }

    func checkDFTFamily<S: FFTWScalar>(_: S.Type, n: Int) throws {
        let x = TransformCheck.signals(S.self, batch: batch(n), scalarsPerRow: 2 * n, seed: UInt64(n))
        let forward = try TransformCheck.fftw(.forwardDFT, n: n, x)
        let backward = try TransformCheck.fftw(.backwardDFT, n: n, x)
        let root = Double(n).squareRoot()
        let cases: [(String, DFTDirection, DFTNormalization, Matrix<Double>)] = [
            ("DFT", .forward, .unnormalised, forward),
            ("unitary DFT", .forward, .unitary, forward.map { $0 / root }),
            ("inverse DFT (÷n)", .inverse, .byN, backward.map { $0 / Double(n) }),
            ("unnormalised inverse DFT", .inverse, .unnormalised, backward),
            ("unitary inverse DFT", .inverse, .unitary, backward.map { $0 / root }),
        ]
        let tolerance = TransformCheck.tolerance(S.self, n: n)
        for (name, direction, normalization, reference) in cases {
            for algorithm in FFTAlgorithm.allCases {
                let transform = try ButterflyTransform<S>.dft(n: n, direction: direction, algorithm: algorithm, normalization: normalization)
                let error = TransformCheck.relativeError(try transform(x), reference)
                #expect(error <= tolerance, "\(S.self) \(name) \(algorithm) n=\(n): rel error \(error) > \(tolerance)")
            }
        }
    }

    func checkHadamardAndDCT<S: FFTWScalar>(_: S.Type, n: Int) throws {
        let tolerance = TransformCheck.tolerance(S.self, n: n)
        let x = TransformCheck.signals(S.self, batch: batch(n), scalarsPerRow: n, seed: UInt64(n) + 7)

        let hadamardReference = TransformCheck.hadamardReference(x)
        if n <= 1024 {
            #expect(try hadamardReference.maxAbsDifference(TransformCheck.hadamardDefinition(x)) <= 1e-12 * Double(n))
        }
        let hadamard = try ButterflyTransform<S>.hadamard(n: n)(x)
        #expect(TransformCheck.relativeError(hadamard, hadamardReference) <= tolerance, "\(S.self) Hadamard n=\(n)")
        let unitaryHadamard = try ButterflyTransform<S>.hadamard(n: n, normalization: .unitary)(x)
        let unitaryReference = TransformCheck.hadamardReference(x, scale: 1 / Double(n).squareRoot())
        #expect(TransformCheck.relativeError(unitaryHadamard, unitaryReference) <= tolerance, "\(S.self) unitary Hadamard n=\(n)")

        let redft10 = try TransformCheck.fftw(.dct2, n: n, x)
        let dct = try ButterflyTransform<S>.dct2(n: n)(x)
        let dctError = TransformCheck.relativeError(dct, redft10)
        #expect(dctError <= tolerance, "\(S.self) DCT-II n=\(n): rel error \(dctError) > \(tolerance)")
        var orthonormalReference = redft10
        for r in 0..<x.rows {
            for k in 0..<n { orthonormalReference[r, k] *= (1 / (Double(k == 0 ? 4 : 2) * Double(n))).squareRoot() }
        }
        let orthonormal = try ButterflyTransform<S>.dct2(n: n, orthonormal: true)(x)
        let orthonormalError = TransformCheck.relativeError(orthonormal, orthonormalReference)
        #expect(orthonormalError <= tolerance, "\(S.self) orthonormal DCT-II n=\(n): rel error \(orthonormalError)")
    }
}
