/// A compute budget turned into a Pixelfly configuration: (B, K, b) for the sparse part and a
/// rank for the low-rank part, with the fractions of dense cost it actually achieves after
/// block quantisation.
///
/// Cost model: one forward row of a dense (out, in) layer is 2·in·out FLOPs; Pixelfly's is
/// 2·(nnz + r·(in + out)), where nnz counts the stored (quantised) weights. The FLOP fraction
/// and the parameter fraction (bias excluded) are therefore the same number,
/// `(nnz + r·(in + out)) / (in·out)`; both are reported.
///
/// Search: every block size b ∈ {64, 48, 32, 16} dividing both sizes, every power of two B
/// whose tiles (out/B, in/B) are at least b and whole blocks' worth, every K ≤ log2 B. For each,
/// the sparse density d is measured on the quantised mask, and the rank is the largest multiple
/// of 16 that keeps the total within the target. The chosen candidate has its sparse fraction
/// closest to `(1 − lowRankShare) · target`; ties go to larger blocks, then larger tiles (both
/// make larger, faster GEMMs), then more factors.
public struct PixelflyBudget: Sendable, Equatable, Codable {
    public var configuration: FlatButterflyConfiguration
    public var rank: Int
    public var targetFraction: Double
    /// nnz / (in·out) after quantisation.
    public var sparseFraction: Double
    /// r·(in + out) / (in·out).
    public var lowRankFraction: Double
    /// Forward (and backward) FLOPs ÷ dense FLOPs.
    public var flopFraction: Double { sparseFraction + lowRankFraction }
    /// Weights ÷ dense weights (biases excluded).
    public var parameterFraction: Double { sparseFraction + lowRankFraction }

    public static let blockSizes = [64, 48, 32, 16]
    public static let rankQuantum = 16

    /// The configuration for (out, in) closest to `targetFraction` of dense compute.
    public static func allocate(outputFeatures: Int, inputFeatures: Int, targetFraction: Double,
                                lowRankShare: Double = 0.25) throws -> PixelflyBudget {
        guard targetFraction > 0, targetFraction <= 1 else {
            throw PixelflyBudgetError.targetOutOfRange(targetFraction)
        }
        guard lowRankShare >= 0, lowRankShare < 1 else {
            throw PixelflyBudgetError.lowRankShareOutOfRange(lowRankShare)
        }
        let blocks = blockSizes.filter { outputFeatures > 0 && inputFeatures > 0 && outputFeatures % $0 == 0 && inputFeatures % $0 == 0 }
        guard !blocks.isEmpty else {
            throw PixelflyBudgetError.noBlockSizeFits(outputFeatures: outputFeatures, inputFeatures: inputFeatures)
        }
        let dense = Double(outputFeatures) * Double(inputFeatures)
        let perRank = Double(outputFeatures + inputFeatures) / dense
        let sparseTarget = (1 - lowRankShare) * targetFraction
        var best: (score: Double, budget: PixelflyBudget)?
        var cheapest = Double.infinity
        for b in blocks {
            var bSize = 2
            while outputFeatures / bSize >= b, inputFeatures / bSize >= b {
                for factors in 1...bSize.trailingZeroBitCount {
                    let config = FlatButterflyConfiguration(butterflySize: bSize, factors: factors, blockSize: b)
                    guard let mask = try? FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures, configuration: config) else { continue }
                    let sparse = mask.blockDensity
                    cheapest = min(cheapest, sparse + Double(rankQuantum) * perRank)
                    let rank = Int((targetFraction - sparse) / perRank) / rankQuantum * rankQuantum
                    guard rank >= rankQuantum, rank <= min(outputFeatures, inputFeatures) else { continue }
                    let candidate = PixelflyBudget(configuration: config, rank: rank, targetFraction: targetFraction,
                                                   sparseFraction: sparse, lowRankFraction: Double(rank) * perRank)
                    // Lexicographic: sparse share, then bigger blocks, bigger tiles, more factors.
                    let score = abs(sparse - sparseTarget) * 1e6 - Double(b) * 1e3 + Double(bSize) - Double(factors) * 1e-3
                    if best == nil || score < best!.score { best = (score, candidate) }
                }
                bSize *= 2
            }
        }
        guard let best else {
            throw PixelflyBudgetError.targetTooSmall(targetFraction, smallestAchievable: cheapest)
        }
        return best.budget
    }
}

/// A budget the allocator cannot meet, with the valid range.
public enum PixelflyBudgetError: Error, Equatable, Sendable, CustomStringConvertible {
    case targetOutOfRange(Double)
    case lowRankShareOutOfRange(Double)
    case noBlockSizeFits(outputFeatures: Int, inputFeatures: Int)
    case targetTooSmall(Double, smallestAchievable: Double)

    public var description: String {
        switch self {
        case .targetOutOfRange(let t):
            return "target fraction \(t) of dense compute must be in (0, 1]"
        case .lowRankShareOutOfRange(let s):
            return "low-rank share \(s) must be in [0, 1)"
        case let .noBlockSizeFits(out, input):
            return "no block size in \(PixelflyBudget.blockSizes) divides both out = \(out) and in = \(input); use multiples of 16"
        case let .targetTooSmall(t, smallest):
            return "target fraction \(t) is below the cheapest configuration for this shape (\(smallest): the sparsest mask plus rank \(PixelflyBudget.rankQuantum)); ask for at least that"
        }
    }
}
