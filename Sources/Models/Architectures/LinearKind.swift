import Butterfly
import LowRank
import PixelflyCore

/// The one-word switch that picks the structure of every linear layer in a model.
///
/// A model never constructs a concrete linear type: it asks `kind.factory()` for each
/// projection, so `.dense` → `.pixelfly(…)` changes every block of a ViT, Mixer or GPT at once.
public enum LinearKind: Codable, Sendable, Equatable, CustomStringConvertible {
    /// `DenseLinear`: y = x·Wᵀ + b.
    case dense
    /// `LowRankLinear`: y = x·Vᵀ·Uᵀ + b with V (rank, in), U (out, rank); `rank` is clamped to
    /// min(in, out) for layers too narrow for it.
    case lowRank(rank: Int)
    /// `ButterflyLinear`: a learned real butterfly (one product, increasing strides) on the
    /// input zero-padded to the next power of two ≥ max(in, out), output truncated to `out`.
    case butterfly

    /// The words `pixelfly-bench train --linear` accepts.
    public static let choices = ["dense", "lowrank", "butterfly"]

    /// A factory for this kind of linear (with a bias, as in the reference models).
    public func factory<Scalar: TensorScalar>() -> LinearFactory<Scalar> {
        switch self {
        case .dense:
            return LinearFactories.dense()
        case .lowRank(let rank):
            return { inputFeatures, outputFeatures, name, rng in
                try LowRankLinear<Scalar>(inputFeatures, outputFeatures, rank: min(rank, inputFeatures, outputFeatures),
                                          bias: true, name: name, rng: &rng)
            }
        case .butterfly:
            return { inputFeatures, outputFeatures, name, rng in
                try ButterflyLinear<Scalar>(inputFeatures, outputFeatures, bias: true, name: name, rng: &rng)
            }
        }
    }

    public var description: String {
        switch self {
        case .dense: return "dense"
        case .lowRank(let rank): return "lowrank(rank \(rank))"
        case .butterfly: return "butterfly"
        }
    }
}
