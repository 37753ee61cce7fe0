import PixelflyCore

/// The sizes of a Monarch matrix M = P·L·Pᵀ·R of shape (out, in) with `nblocks` blocks, as in
/// the reference `MonarchLinear` (HazyResearch/fly) and method doc section 4.
///
/// Padding: p = ⌈in / nblocks⌉ and s = ⌈out / nblocks⌉; the input is zero-padded to k·p and the
/// output truncated from l·s (k = l = nblocks). The middle width is q = r = p when k·p < l·s,
/// else s. Factors: R = `blkdiag1` (k, q, p), L = `blkdiag2` (l, s, r). For x (batch, k·p):
///
///     h[b, κ·q + t]  = Σ_π  R[κ, t, π] · x[b, κ·p + π]                 (stage 1: k products q×p)
///     y[b, σ·l + λ]  = Σ_ρ  L[λ, σ, ρ] · h[b, ρ·l + λ]                  (stage 2: l products s×r)
///
/// i.e. the flat stage-1 index f = κ·q + t is re-read as f = ρ·l + λ (the reshape-transpose P).
/// Hence M[σ·l + λ, κ·p + π] = Σ_{f ∈ E(λ, κ)} L[λ, σ, f / l] · R[κ, f % q, π] over the "edges"
/// E(λ, κ) = {f : f / q = κ, f % l = λ}. Every f lies in exactly one E(λ, κ), so the (λ, κ)
/// block of M (rows σ·l + λ, columns κ·p + π) is a product of factor slices that no other block
/// uses: a matrix of rank ≤ |E(λ, κ)| (= 1 when q = nblocks, e.g. the square n = m² case
/// with m blocks; q/nblocks when nblocks divides q). That is what makes the Frobenius projection a per-block truncated SVD
/// (`projectOntoMonarch`).
public struct MonarchShape: Sendable, Equatable, CustomStringConvertible {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let nblocks: Int
    /// Input block width p (padded input k·p).
    public let p: Int
    /// Rows of each stage-1 block = columns of each stage-2 block (q = r).
    public let q: Int
    /// Rows of each stage-2 block s (padded output l·s).
    public let s: Int

    /// Throws `ShapeError` unless in, out ≥ 1 and 1 ≤ nblocks ≤ min(in, out).
    public init(inputFeatures: Int, outputFeatures: Int, nblocks: Int) throws {
        guard inputFeatures >= 1, outputFeatures >= 1 else {
            throw ShapeError("MonarchShape", "features must be positive, got in \(inputFeatures), out \(outputFeatures)")
        }
        guard nblocks >= 1, nblocks <= min(inputFeatures, outputFeatures) else {
            throw ShapeError("MonarchShape", "nblocks \(nblocks) is invalid for \(inputFeatures)→\(outputFeatures); "
                + "valid values are 1...\(min(inputFeatures, outputFeatures)) (sizes that are not multiples of nblocks are zero-padded)")
        }
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        self.nblocks = nblocks
        p = (inputFeatures + nblocks - 1) / nblocks
        s = (outputFeatures + nblocks - 1) / nblocks
        q = p * nblocks < s * nblocks ? p : s
    }

    public var paddedInput: Int { nblocks * p }
    public var paddedOutput: Int { nblocks * s }
    /// Length of the intermediate h (k·q = l·r).
    public var middle: Int { nblocks * q }
    /// Elements of blkdiag1 (k·q·p) and blkdiag2 (l·s·r).
    public var firstCount: Int { nblocks * q * p }
    public var secondCount: Int { nblocks * s * q }
    public var parameterCount: Int { firstCount + secondCount }
    /// Multiply-adds ×2 per row of the two block-diagonal products (padding included).
    public var forwardFLOPsPerRow: Int { 2 * parameterCount }

    /// Valid input columns of stage-1 block κ (the rest is padding): in − κ·p clamped to 0...p.
    public func validInput(block κ: Int) -> Int { max(0, min(p, inputFeatures - κ * p)) }

    /// The intermediate indices f = κ·q + t = ρ·l + λ joining output block λ to input block κ.
    public func edges(outputBlock λ: Int, inputBlock κ: Int) -> [Int] {
        stride(from: κ * q, to: (κ + 1) * q, by: 1).filter { $0 % nblocks == λ }
    }

    public var description: String {
        "Monarch \(inputFeatures)→\(outputFeatures), \(nblocks) blocks: R \(nblocks)×\(q)×\(p), L \(nblocks)×\(s)×\(q)"
    }
}
