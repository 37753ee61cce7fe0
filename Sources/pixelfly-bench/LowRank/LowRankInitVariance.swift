import LowRank
import PixelflyCore

/// Mean W² of U·V for each `LowRankInitialization`, as a multiple of the dense target
/// 1/(3·in) (an `nn.Linear` default), averaged over independent draws.
struct LowRankInitVariance: Codable {
    var initialization: String
    var input: Int
    var output: Int
    var rank: Int
    var draws: Int
    /// mean over draws of (mean W²) · 3·in: 1 means the dense layer's variance.
    var ratioToDense: Double
    /// Standard error of `ratioToDense` over the draws.
    var standardError: Double

    static func measure(input: Int, output: Int, rank: Int, draws: Int) throws -> [LowRankInitVariance] {
        let cases: [(String, LowRankInitialization)] = [
            ("kaimingUniform (default)", .kaimingUniform), ("referenceKaimingUniform", .referenceKaimingUniform), ("svd", .svd),
        ]
        return try cases.map { name, initialization in
            var rng = SeededRandom(seed: 6)
            let ratios = try (0..<draws).map { _ in
                let layer = try LowRankLinear<Float>(input, output, rank: rank, initialization: initialization, rng: &rng)
                let w = layer.denseWeight()
                let meanSquare = w.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)
                return meanSquare * 3 * Double(input)
            }
            let mean = ratios.reduce(0, +) / Double(draws)
            let variance = draws > 1 ? ratios.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws - 1) : 0
            return LowRankInitVariance(initialization: name, input: input, output: output, rank: rank, draws: draws,
                                       ratioToDense: mean, standardError: (variance / Double(draws)).squareRoot())
        }
    }
}
