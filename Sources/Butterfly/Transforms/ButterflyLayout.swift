/// Order of the strides in one butterfly product B = F_last ⋯ F_first (F_first applied first).
public enum StrideOrder: String, Sendable, CaseIterable {
    /// Strides 1, 2, …, n/2 (decimation in time).
    case increasing
    /// Strides n/2, …, 2, 1 (decimation in frequency).
    case decreasing

    func strides(_ n: Int) -> [Int] {
        let up = (0..<n.trailingZeroBitCount).map { 1 << $0 }
        return self == .increasing ? up : up.reversed()
    }
}

/// Real butterflies have 4 scalars per 2×2 twiddle, complex ones 8 (interleaved re, im).
public enum ButterflyField: String, Sendable {
    case real
    case complex

    public var scalarsPerTwiddle: Int { self == .real ? 4 : 8 }
}

/// Whether every pair owns its twiddle, or the n/(2s) diagonal blocks of a stride-s factor
/// share s twiddles (the FFT's structure; "tied" weights in Dao et al. 2019).
public enum TwiddleSharing: String, Sendable {
    case perPair
    case perStride
}

/// The shape of a butterfly matrix: size, field, twiddle sharing and the factor strides.
///
/// A factor of stride s pairs x[d·2s + t] with x[d·2s + s + t] (t < s, d < n/(2s)) through the
/// 2×2 twiddle [[a, b], [c, d]]: y₀ = a·x₀ + b·x₁, y₁ = c·x₀ + d·x₁. Twiddles are stored flat,
/// factor after factor; pair p = d·s + t (or t when shared) of factor f starts at
/// `offsets[f] + p·scalarsPerTwiddle`, laid out (a, b, c, d) with each entry (re, im) if complex.
public struct ButterflyLayout: Equatable, Sendable {
    public let n: Int
    public let field: ButterflyField
    public let sharing: TwiddleSharing
    /// Factor strides in application order.
    public let strides: [Int]
    /// Start of each factor's twiddles in the flat array; `offsets.last` is the total count.
    public let offsets: [Int]
    /// Pass order of the forward kernel (radix-4 fusion, cache blocking).
    let schedule: ButterflySchedule

    /// `products` butterfly products applied one after the other, e.g. `[.increasing]` for a
    /// single butterfly or `[.increasing, .decreasing]` for a B·Bᵀ-style stack.
    public init(n: Int, field: ButterflyField, sharing: TwiddleSharing = .perPair,
                products: [StrideOrder] = [.increasing]) throws {
        _ = try log2Exact(n, "ButterflyLayout")
        guard !products.isEmpty else {
            throw ButterflyError.unsupported(operation: "ButterflyLayout", message: "needs at least one product (e.g. [.increasing])")
        }
        try self.init(n: n, field: field, sharing: sharing, strides: products.flatMap { $0.strides(n) })
    }

    /// Any sequence of power-of-two strides below n.
    public init(n: Int, field: ButterflyField, sharing: TwiddleSharing, strides: [Int]) throws {
        _ = try log2Exact(n, "ButterflyLayout")
        for s in strides where s < 1 || s >= n || s & (s - 1) != 0 {
            throw ButterflyError.unsupported(operation: "ButterflyLayout", message: "stride \(s) is not a power of two in 1…\(n / 2)")
        }
        self.n = n
        self.field = field
        self.sharing = sharing
        self.strides = strides
        var offsets = [0]
        for s in strides {
            offsets.append(offsets.last! + (sharing == .perPair ? n / 2 : s) * field.scalarsPerTwiddle)
        }
        self.offsets = offsets
        self.schedule = ButterflySchedule(strides: strides, n: n)
    }

    public var factorCount: Int { strides.count }
    public var twiddleScalarCount: Int { offsets.last! }
    /// Scalars per vector element: 1 real, 2 complex (interleaved).
    public var scalarsPerElement: Int { field == .real ? 1 : 2 }

    /// Index of the twiddle of pair (block d, offset t) in factor f, in twiddles (not scalars).
    @inlinable
    public func twiddleIndex(factor f: Int, block d: Int, offset t: Int) -> Int {
        sharing == .perPair ? d * strides[f] + t : t
    }

    /// The layout of the transpose: factors in reverse order (each 2×2 transposed by the caller).
    public var reversed: ButterflyLayout {
        // Strides were validated when `self` was built.
        try! ButterflyLayout(n: n, field: field, sharing: sharing, strides: strides.reversed())
    }
}
