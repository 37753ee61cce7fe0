import Butterfly
import PixelflyCore
import Testing

/// The ICML 2019 result as a test: gradient descent on a random butterfly with the fixed
/// bit-reversal permutation recovers the unitary DFT (bench: `pixelfly-bench learn-dft`).
@Suite("Butterfly learns the DFT")
struct DFTLearningTests {
    /// n = 16 from seed 1: 600 Adam steps (cosine decay over those 600) bring the relative
    /// Frobenius error below 1e-4, both as the training loss reports it and recomputed from
    /// the materialised matrix; the learned transform then matches FFTW on random signals.
    @Test func gradientDescentRecoversThe16PointDFT() throws {
        let n = 16
        let outcome = try DFTLearning.train(n: n, steps: 600, learningRate: 0.02, seed: 1, every: 100)
        let first = try #require(outcome.curve.first), last = try #require(outcome.curve.last)
        #expect(first.step == 0 && first.relativeError > 0.5, "a random start is far from the DFT: \(first)")
        #expect(last.step == 600 && last.relativeError < 1e-4, "\(outcome.curve)")
        #expect(outcome.finalRelativeError < 1e-4, "materialised B·P vs F/√n: \(outcome.finalRelativeError)")

        // An outside oracle: FFTW's unnormalised forward DFT of random complex signals, ÷ √n.
        let x = TransformCheck.signals(Double.self, batch: 5, scalarsPerRow: 2 * n, seed: 16)
        let reference = try TransformCheck.fftw(.forwardDFT, n: n, x, scale: 1 / Double(n).squareRoot())
        let error = TransformCheck.relativeError(try outcome.layer(x), reference)
        #expect(error < 1e-4, "learned butterfly vs FFTW/√n: max rel error \(error)")
    }

    @Test func invalidSettingsThrowNamedErrors() {
        #expect(throws: ButterflyError.self) { try DFTLearning.train(n: 12, steps: 10, learningRate: 0.02, seed: 1, every: 1) }
        #expect(throws: ButterflyError.self) { try DFTLearning.train(n: 16, steps: 0, learningRate: 0.02, seed: 1, every: 1) }
        #expect(throws: ButterflyError.self) { try DFTLearning.train(n: 16, steps: 10, learningRate: -1, seed: 1, every: 1) }
        #expect(throws: ButterflyError.self) { try DFTLearning.train(n: 16, steps: 10, learningRate: 0.02, seed: 1, every: 0) }
    }
}
