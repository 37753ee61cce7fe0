import Butterfly
import FFTWOracle
import PixelflyCore
import Testing

/// The Monarch-form DFT of composite lengths against FFTW (Double reference), in Float and
/// Double, forward and inverse, within 4·⌈log₂ n⌉·ε of the output's max magnitude.
@Suite("Monarch DFT vs FFTW")
struct MonarchDFTTests {
    @Test(arguments: [4, 6, 12, 15, 36, 85, 168, 1000, 1536])
    func matchesFFTW(n: Int) throws {
        try check(Float.self, n: n)
        try check(Double.self, n: n)
    }

    func check<S: FFTWScalar>(_: S.Type, n: Int) throws {
        let x = TransformCheck.signals(S.self, batch: 3, scalarsPerRow: 2 * n, seed: UInt64(n))
        let tolerance = 4 * Double(Int.bitWidth - (n - 1).leadingZeroBitCount) * Double(S.ulpOfOne)
        let forward = TransformCheck.relativeError(try MonarchDFT<S>(n: n)(x), try TransformCheck.fftw(.forwardDFT, n: n, x))
        let inverse = TransformCheck.relativeError(try MonarchDFT<S>(n: n, direction: .inverse)(x), try TransformCheck.fftw(.backwardDFT, n: n, x))
        #expect(forward <= tolerance && inverse <= tolerance, "\(S.self) n=\(n): forward \(forward), inverse \(inverse), tolerance \(tolerance)")
    }

    @Test func factorPairIsClosestToSquareRoot() throws {
        let monarch = try MonarchDFT<Double>(n: 1536)
        #expect((monarch.p, monarch.q) == (32, 48))
        #expect(try MonarchDFT<Double>(n: 85).p == 5)
    }

    @Test(arguments: [0, 1, 2, 3, 13, 997])
    func primeLengthsThrowANamedError(n: Int) {
        #expect(throws: ButterflyError.primeLength(n: n)) { try MonarchDFT<Float>(n: n) }
    }
}
