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

    /// `PixelflyLinear`: a flat block butterfly sparse term plus a rank-r term (plus a bias).
    case pixelfly(PixelflySettings)

    /// `PixelflyLinear` whose mask and rank `PixelflyBudget.allocate` picks for each layer's
    /// shape so that it costs about `targetFraction` of the dense layer.
    case pixelflyBudget(targetFraction: Double)

    /// `ButterflyLinear`: one learned real butterfly (2n·log₂n parameters, n the next power of
    /// two ≥ max(in, out); rectangular layers pad the input and truncate the output) plus a bias.
    case butterfly

    /// `MonarchLinear`: two block-diagonal factors with `nblocks` blocks joined by the
    /// reshape-transpose permutation, plus a bias; `nblocks` is clamped to min(in, out).
    case monarch(nblocks: Int)

    /// `BlockSparseLinear` on a flat block butterfly mask, with no low-rank term, plus a bias.
    case blockSparse(FlatButterflyConfiguration)

    /// A dense layer on the block-sparse kernels: `BlockSparseLinear` with every b×b block kept
    /// (`BlockSparseLayout.full`), plus a bias. The same function and initialisation as `.dense`;
    /// the products run on the LIBXSMM strips where the block-sparse layers do, which on some
    /// CPUs is faster than OpenBLAS (the default job trains both dense kinds and compares
    /// Pixelfly with the faster). b must divide every layer's width.
    case denseBlocks(blockSize: Int)

    /// The words `pixelfly-bench train --linear` accepts.
    public static let choices = ["dense", "dense-blocks", "pixelfly", "lowrank", "butterfly", "monarch", "blocksparse"]

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
        case .monarch(let nblocks):
            return { inputFeatures, outputFeatures, name, rng in
                try MonarchLinear<Scalar>(inputFeatures, outputFeatures, nblocks: min(nblocks, inputFeatures, outputFeatures),
                                          bias: true, name: name, rng: &rng)
            }
        case .blockSparse(let configuration):
            return { inputFeatures, outputFeatures, name, rng in
                let mask = try FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures, configuration: configuration)
                return try BlockSparseLinear<Scalar>(mask: mask, bias: true, name: name, rng: &rng)
            }
        case .denseBlocks(let blockSize):
            return { inputFeatures, outputFeatures, name, rng in
                let layout: BlockSparseLayout
                do {
                    layout = try BlockSparseLayout.full(rows: outputFeatures, cols: inputFeatures, blockSize: blockSize)
                } catch let error as ShapeError {
                    throw ShapeError("dense-blocks layer \(name) (\(inputFeatures) → \(outputFeatures))", error.message)
                }
                return try BlockSparseLinear<Scalar>(layout: layout, bias: true, name: name, rng: &rng)
            }
        case .pixelflyBudget(let target):
            return { inputFeatures, outputFeatures, name, rng in
                let budget = try PixelflyBudget.allocate(outputFeatures: outputFeatures, inputFeatures: inputFeatures,
                                                         targetFraction: target)
                return try PixelflyLinear<Scalar>(inputFeatures, outputFeatures, mask: budget.configuration,
                                                  rank: budget.rank, bias: true, name: name, rng: &rng)
            }
        case .pixelfly(let settings):
            return { inputFeatures, outputFeatures, name, rng in
                try PixelflyLinear<Scalar>(inputFeatures, outputFeatures, mask: settings.mask,
                                           rank: min(settings.rank, inputFeatures, outputFeatures), bias: true,
                                           combination: settings.combination, name: name, rng: &rng)
            }
        }
    }

    public var description: String {
        switch self {
        case .dense: return "dense"
        case .lowRank(let rank): return "lowrank(rank \(rank))"
        case .butterfly: return "butterfly"
        case .pixelflyBudget(let target): return "pixelfly(budget \(target) of dense)"
        case .monarch(let nblocks): return "monarch(\(nblocks) blocks)"
        case .denseBlocks(let blockSize): return "dense-blocks(b \(blockSize))"
        case .blockSparse(let c): return "blocksparse(B \(c.butterflySize), K \(c.factors), b \(c.blockSize))"
        case .pixelfly(let p):
            return "pixelfly(B \(p.mask.butterflySize), K \(p.mask.factors), b \(p.mask.blockSize), rank \(p.rank), \(p.combination.rawValue))"
        }
    }
}

/// The budget of a Pixelfly linear: its flat butterfly mask, the rank of its low-rank term and
/// how the two are combined.
public struct PixelflySettings: Codable, Sendable, Equatable {
    public var mask: FlatButterflyConfiguration
    public var rank: Int
    public var combination: PixelflyCombination

    /// B = 16, K = 2, 8×8 blocks, rank 8, sum: about a quarter of a dense layer's parameters at
    /// the widths of the small presets (e.g. 128 → 512: 18.75% sparse + 7.8% low rank).
    public init(mask: FlatButterflyConfiguration = .init(butterflySize: 16, factors: 2, blockSize: 8),
                rank: Int = 8, combination: PixelflyCombination = .sum) {
        self.mask = mask
        self.rank = rank
        self.combination = combination
    }
}
