import LowRank
import PixelflyCore
import Testing

@Suite("LowRankLinear initialisation")
struct LowRankInitializationTests {
    /// Mean of W_ij² over the entries of U·V, one value per independently drawn layer.
    func meanSquaredWeights(_ initialization: LowRankInitialization, input: Int, output: Int, rank: Int,
                            draws: Int, seed: UInt64) throws -> [Double] {
        var rng = SeededRandom(seed: seed)
        return try (0..<draws).map { _ in
            let layer = try LowRankLinear<Double>(input, output, rank: rank, initialization: initialization, rng: &rng)
            let w = layer.denseWeight()
            return w.storage.reduce(0) { $0 + $1 * $1 } / Double(w.count)
        }
    }

    /// E[W_ij²] = r·Var(U)·Var(V) exactly for independent uniform factors. Target for the
    /// default: a dense `nn.Linear`'s 1/(3·in); for the reference init: 1/(9·in).
    ///
    /// Statistical tolerance: the draws are independent, so the sample mean's standard error
    /// is s/√draws (s = sample standard deviation of the per-draw values); we require
    /// |mean − target| ≤ 4 standard errors (a false failure has probability ≈ 6e-5). Swapping
    /// the two inits would miss by a factor 3, hundreds of standard errors.
    @Test(arguments: [(LowRankInitialization.kaimingUniform, 3.0), (.referenceKaimingUniform, 9.0)])
    func productVarianceMatchesTheDocumentedTarget(initialization: LowRankInitialization, divisor: Double) throws {
        for (input, output, rank) in [(256, 128, 16), (96, 300, 4), (64, 64, 64)] {
            let draws = 40
            let values = try meanSquaredWeights(initialization, input: input, output: output, rank: rank, draws: draws, seed: 61)
            let mean = values.reduce(0, +) / Double(draws)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws - 1)
            let standardError = (variance / Double(draws)).squareRoot()
            let target = 1 / (divisor * Double(input))
            #expect(abs(mean - target) <= 4 * standardError,
                    "\(initialization) \(input)→\(output) r=\(rank): mean W² \(mean), target \(target), s.e. \(standardError)")
            #expect(standardError < 0.05 * target, "too few draws to resolve the target")
        }
    }

    /// The output scale for a fixed input batch: E[y_j²] = Var(W)·‖x‖² for both a dense layer
    /// and the default low-rank layer. Averaged over 40 independent layers each; the two
    /// estimates must agree within 4 combined standard errors.
    @Test func outputScaleMatchesADenseLayer() throws {
        var rng = SeededRandom(seed: 62)
        let x = Matrix<Double>(rows: 32, cols: 200, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        func meanSquare(_ y: Matrix<Double>) -> Double { y.storage.reduce(0) { $0 + $1 * $1 } / Double(y.count) }
        var dense: [Double] = []
        var lowRank: [Double] = []
        for _ in 0..<40 {
            dense.append(meanSquare(try DenseLinear<Double>(200, 150, bias: false, rng: &rng)(x)))
            lowRank.append(meanSquare(try LowRankLinear<Double>(200, 150, rank: 12, rng: &rng)(x)))
        }
        func meanAndSquaredError(_ v: [Double]) -> (Double, Double) {
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1) / Double(v.count))
        }
        let (denseMean, denseSE2) = meanAndSquaredError(dense)
        let (lowMean, lowSE2) = meanAndSquaredError(lowRank)
        #expect(abs(denseMean - lowMean) <= 4 * (denseSE2 + lowSE2).squareRoot(),
                "dense E[y²] \(denseMean), low-rank \(lowMean)")
    }

    /// The SVD init's product is the best rank-r approximation of a dense draw: its mean W²
    /// is the dense variance 1/(3·in) times the kept energy fraction, which exceeds r/min(in, out).
    @Test func svdInitKeepsTheLeadingEnergyOfADenseDraw() throws {
        let (input, output, rank) = (128, 96, 16)
        var rng = SeededRandom(seed: 63)
        let layer = try LowRankLinear<Double>(input, output, rank: rank, initialization: .svd, rng: &rng)
        var replay = SeededRandom(seed: 63)
        let dense = Matrix<Double>(rows: output, cols: input, initializer: .linearDefault, rng: &replay)
        let best = try bestRankApproximation(dense, rank: rank)
        #expect(try layer.denseWeight().maxAbsDifference(try best.factors.product()) < 1e-12)
        // √σ on both factors: UᵀU = VVᵀ = diag(σ_r).
        let uu = try matmul(layer.u.value, .transposed, layer.u.value, .none)
        let vv = try matmul(layer.v.value, .none, layer.v.value, .transposed)
        for i in 0..<rank { for j in 0..<rank {
            let expected = i == j ? best.singularValues[i] : 0
            #expect(abs(uu[i, j] - expected) < 1e-12 && abs(vv[i, j] - expected) < 1e-12)
        } }
        #expect(best.energyFraction > Double(rank) / Double(min(input, output)))
        let meanSquare = layer.denseWeight().storage.reduce(0) { $0 + $1 * $1 } / Double(input * output)
        let denseMeanSquare = dense.storage.reduce(0) { $0 + $1 * $1 } / Double(input * output)
        #expect(abs(meanSquare / denseMeanSquare - best.energyFraction) < 1e-12)
    }
}
