import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// The ICML 2019 experiment (Dao et al., "Learning Fast Algorithms for Linear Transforms Using
/// Butterfly Factorizations"): a complex butterfly B of size n with the fixed bit-reversal input
/// permutation P, started from random twiddles and trained by gradient descent, recovers the
/// unitary DFT F/√n, F[k, j] = e^{−2πi·jk/n}.
///
/// Training pairs are the n standard basis vectors x = e_j with targets F·e_j/√n (one batch of
/// n), so the loss L = ½·Σ_j ‖B·P·e_j − F·e_j/√n‖² / n is the squared Frobenius error over
/// ‖F/√n‖²_F = n and the relative Frobenius error is √(2L). Optimiser: Adam (β = 0.9, 0.999,
/// ε = 1e-12) on the twiddles, learning rate η·(0.01 + 0.99·½(1 + cos(π·t/T))) — cosine decay to
/// 1% of the peak η over T steps. All in Double. Derivation and curves:
/// notebooks-md/butterfly-learns-the-dft.md.
public enum DFTLearning {
    /// The loss after `step` optimiser steps and its relative Frobenius error √(2L).
    public struct Point: Codable, Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public var relativeError: Double
    }

    public struct Outcome {
        /// The loss at step 0, every `every` steps, and after the last step.
        public var curve: [Point]
        /// ‖B·P − F/√n‖_F / ‖F/√n‖_F recomputed from the materialised butterfly (plain loops,
        /// not the kernel the training used).
        public var finalRelativeError: Double
        /// The learned twiddles (y = B·P·x).
        public var layer: ButterflyLayer<Double>
    }

    /// Trains from twiddles drawn with `seed` for `steps` Adam steps at peak learning rate
    /// `learningRate`; `progress` sees each point of the curve as it is recorded. Throws unless
    /// n is a power of two ≥ 2, `steps` and `every` are at least 1 and the rate is positive.
    public static func train(n: Int, steps: Int, learningRate: Double, seed: UInt64, every: Int,
                             progress: (Point) -> Void = { _ in }) throws -> Outcome {
        guard steps >= 1, every >= 1, learningRate > 0, learningRate.isFinite else {
            throw ButterflyError.unsupported(operation: "DFTLearning.train",
                                             message: "steps (\(steps)) and every (\(every)) must be at least 1 and the learning rate (\(learningRate)) positive and finite")
        }
        let layout = try ButterflyLayout(n: n, field: .complex, sharing: .perPair)
        var rng = SeededRandom(seed: seed)
        let bitReversal = try BitReversal.permutation(n)
        let layer = try ButterflyLayer(ButterflyMatrix<Double>.random(layout: layout, rng: &rng), inputPermutation: bitReversal)
        // Row j: x = e_j (interleaved re, im) and its target F·e_j/√n.
        var x = Matrix<Double>(rows: n, cols: 2 * n)
        for j in 0..<n { x[j, 2 * j] = 1 }
        let target = unitaryDFTRows(n)
        var adam = FlatAdam(count: layout.twiddleScalarCount)
        var y = Matrix<Double>(rows: 0, cols: 0), dy = Matrix<Double>(rows: n, cols: 2 * n), dx = Matrix<Double>(rows: 0, cols: 0)
        var curve: [Point] = []
        for step in 0...steps {
            try layer.forward(x, into: &y)
            var loss = 0.0
            for i in 0..<y.rows {
                for c in 0..<y.cols {
                    let r = y[i, c] - target[i, c]
                    loss += 0.5 * r * r / Double(n)
                    dy[i, c] = r / Double(n)
                }
            }
            if step % every == 0 || step == steps {
                let point = Point(step: step, loss: loss, relativeError: (2 * loss).squareRoot())
                curve.append(point)
                progress(point)
            }
            if step == steps { break }
            layer.zeroGradients()
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            let rate = learningRate * (0.01 + 0.99 * 0.5 * (1 + cos(Double.pi * Double(step) / Double(steps))))
            try layer.twiddles.updateValue { adam.update(&$0, gradient: layer.twiddles.gradient, learningRate: rate) }
        }
        return Outcome(curve: curve, finalRelativeError: materialisedRelativeError(layer.butterfly, bitReversal: bitReversal),
                       layer: layer)
    }

    /// Row j is F·e_j/√n, interleaved (re, im): entry (j, 2k) = cos(−2π·jk/n)/√n, (j, 2k+1) the sine.
    public static func unitaryDFTRows(_ n: Int) -> Matrix<Double> {
        var rows = Matrix<Double>(rows: n, cols: 2 * n)
        for j in 0..<n {
            for k in 0..<n {
                let angle = -2 * Double.pi * Double((j * k) % n) / Double(n)
                rows[j, 2 * k] = cos(angle) / Double(n).squareRoot()
                rows[j, 2 * k + 1] = sin(angle) / Double(n).squareRoot()
            }
        }
        return rows
    }

    /// ‖B·P − F/√n‖_F / ‖F/√n‖_F from `butterfly.dense()`, with (B·P)[k, j] = B[k, i] where
    /// `bitReversal[i] = j`.
    public static func materialisedRelativeError(_ butterfly: ButterflyMatrix<Double>, bitReversal: [Int]) -> Double {
        let n = butterfly.layout.n
        let target = unitaryDFTRows(n)
        let (re, im) = butterfly.dense()
        var squaredError = 0.0
        for k in 0..<n {
            for i in 0..<n {
                let j = bitReversal[i]
                let dr = re[k, i] - target[j, 2 * k], di = im[k, i] - target[j, 2 * k + 1]
                squaredError += dr * dr + di * di
            }
        }
        return (squaredError / Double(n)).squareRoot()
    }
}
