import Butterfly
import PixelflyCore

/// One DFT-learning run as the bench reports it: `DFTLearning.train`'s curve and final error,
/// plus the wall time.
struct DFTLearningRun: Codable, Sendable {
    var n: Int
    var seed: UInt64
    var curve: [DFTLearning.Point]
    /// ‖B·P − F/√n‖_F / ‖F/√n‖_F from the materialised butterfly.
    var finalRelativeError: Double
    var seconds: Double

    static func train(n: Int, steps: Int, learningRate: Double, seed: UInt64, every: Int,
                      progress: (DFTLearning.Point) -> Void) throws -> DFTLearningRun {
        let start = monotonicSeconds()
        let outcome = try DFTLearning.train(n: n, steps: steps, learningRate: learningRate, seed: seed, every: every,
                                            progress: progress)
        return DFTLearningRun(n: n, seed: seed, curve: outcome.curve, finalRelativeError: outcome.finalRelativeError,
                              seconds: monotonicSeconds() - start)
    }
}
