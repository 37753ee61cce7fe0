/// The bit-reversal permutation of `0..<n` for n = 2^L: index i ↦ i with its L bits reversed.
///
/// Permutations in this module are gathers: applying `p` to x gives y[i] = x[p[i]]. Bit
/// reversal is an involution (its own inverse); `inverse(of:)` inverts any permutation.
public enum BitReversal {
    /// `i` with its lowest `bits` bits reversed.
    @inlinable
    public static func reverse(_ i: Int, bits: Int) -> Int {
        var result = 0
        var value = i
        for _ in 0..<bits {
            result = (result << 1) | (value & 1)
            value >>= 1
        }
        return result
    }

    /// The gather indices of the bit-reversal permutation; throws unless n is a power of two.
    public static func permutation(_ n: Int) throws -> [Int] {
        let bits = try log2Exact(n, "BitReversal.permutation")
        return (0..<n).map { reverse($0, bits: bits) }
    }

    /// The inverse permutation q with q[p[i]] = i; throws unless `p` is a permutation of 0..<p.count.
    public static func inverse(of p: [Int]) throws -> [Int] {
        var inverse = [Int](repeating: -1, count: p.count)
        for (i, source) in p.enumerated() {
            guard source >= 0, source < p.count, inverse[source] == -1 else {
                throw ButterflyError.invalidPermutation("entry \(i) is \(source); a permutation of 0..<\(p.count) needs each index exactly once")
            }
            inverse[source] = i
        }
        return inverse
    }
}

/// L with n = 2^L; throws a `ButterflyError` naming the operation unless n is a power of two ≥ 2.
func log2Exact(_ n: Int, _ operation: String) throws -> Int {
    guard n >= 2, n & (n - 1) == 0 else {
        throw ButterflyError.notPowerOfTwo(operation: operation, n: n)
    }
    return n.trailingZeroBitCount
}
