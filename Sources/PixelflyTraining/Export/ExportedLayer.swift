import Butterfly

/// How one linear layer is stored in an export, as recorded in the export's `layers` metadata
/// (JSON, keyed by the layer's name prefix). `scripts/reference-forward.py` reads it.
///
/// Tensors under prefix `P` (PyTorch conventions: weights (out, in), everything else 1-D):
///
/// | kind | tensors | forward |
/// | --- | --- | --- |
/// | `dense` | `P.weight` (out, in), `P.bias` (out) | y = x·Wᵀ + b |
/// | `low_rank` | `P.v.weight` (r, in), `P.u.weight` (out, r), `P.bias` | y = (x·Vᵀ)·Uᵀ + b |
/// | `block_sparse` | `P.weight` (n, b, b), `P.block_index` (n, 2) int64, `P.bias` | y[:, R·b…] += x[:, C·b…]·Bₖᵀ for block k at (R, C) |
/// | `pixelfly` | `P.sparse.weight`, `P.sparse.block_index`, `P.lowrank.v.weight`, `P.lowrank.u.weight`, `P.bias` (+ `P.gate.weight` (1, in), `P.gate.bias` (1) when gated) | sum: y = S(x) + L(x) + b; gated: g = σ(x·wᵀ + c), y = (1 − g)·S(x) + g·L(x) + b |
/// | `monarch` | `P.blkdiag1` (k, q, p), `P.blkdiag2` (l, s, r), `P.bias` | pad x to k·p; h[:, κ·q + t] = Σ_π R[κ, t, π]·x[:, κ·p + π]; y[:, σ·l + λ] = Σ_ρ L[λ, σ, ρ]·h[:, ρ·l + λ]; truncate to out |
///
/// A `monarch` entry is the reference (HazyResearch/fly) `MonarchLinear`: k = l = `nblocks`,
/// p = ⌈in/k⌉, s = ⌈out/l⌉, `in_features_extended` = k·p, `out_features_extended` = l·s, and
/// q = r = p when k·p < l·s, else s (`MonarchShape`).
///
/// Block k of a block-sparse weight holds W[R·b + i, C·b + j] at [k, i, j], blocks in row-major
/// order of (R, C) = `block_index[k]` (block units).
public struct ExportedLayer: Codable, Sendable, Equatable {
    /// `dense`, `low_rank`, `block_sparse`, `pixelfly` or `monarch`.
    public var kind: String
    /// The library layer it came from (`DenseLinear`, `PixelflyLinear`, …); with `--dense`
    /// or for a butterfly linear (stored as its dense-equivalent matrix) it differs from `kind`.
    public var source: String
    public var inFeatures: Int
    public var outFeatures: Int
    public var bias: Bool
    public var rank: Int?
    public var blockSize: Int?
    public var blockCount: Int?
    /// The flat butterfly mask settings the blocks were made from.
    public var mask: FlatButterflyConfiguration?
    /// `sum` or `gated` (Pixelfly).
    public var combination: String?
    /// Monarch: the number of blocks of each factor and the zero-padded input and output sizes.
    public var nblocks: Int?
    public var inFeaturesExtended: Int?
    public var outFeaturesExtended: Int?

    enum CodingKeys: String, CodingKey {
        case kind, source, bias, rank, mask, combination
        case inFeatures = "in_features", outFeatures = "out_features"
        case blockSize = "block_size", blockCount = "block_count", nblocks
        case inFeaturesExtended = "in_features_extended", outFeaturesExtended = "out_features_extended"
    }
}
