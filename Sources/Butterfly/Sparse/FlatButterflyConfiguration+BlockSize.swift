/// Choosing the block size b for a weight shape.
extension FlatButterflyConfiguration {
    /// A block size at which every stretched grid tile of an (out × in) weight is a whole number
    /// of b × b blocks, so quantisation keeps no partly set block and the kept density is exactly
    /// the grid's, (K+1)/B without a global band: b must divide both tile sides out/B and in/B.
    ///
    /// Returns `preferred` if it divides both; else the smallest such divisor above it up to
    /// 2·`preferred` (larger blocks run closer to GEMM speed); else the largest below it.
    /// Example: 768 → 3072 at B = 16 has tiles 48 × 192; b = 32 does not divide 48 and keeps
    /// 20.8 % of the blocks instead of 3/16 = 18.75 %, so this returns 48.
    /// Throws `FlatButterflyMaskError.dimensionNotDivisible` if B does not divide a side.
    public static func tileAlignedBlockSize(outputFeatures: Int, inputFeatures: Int, butterflySize: Int,
                                            preferred: Int = 32) throws -> Int {
        for (name, size) in [("out", outputFeatures), ("in", inputFeatures)] where butterflySize <= 0 || size <= 0 || size % butterflySize != 0 {
            throw FlatButterflyMaskError.dimensionNotDivisible(
                dimension: name, size: size, multipleOf: max(butterflySize, 1), butterflySize: butterflySize, blockSize: preferred,
                suggestions: FlatButterflyMaskError.nearestMultiples(of: max(butterflySize, 1), around: max(size, 0)))
        }
        let tile = greatestCommonDivisor(outputFeatures / butterflySize, inputFeatures / butterflySize)
        let divisors = (1...tile).filter { tile % $0 == 0 }
        if divisors.contains(preferred) { return preferred }
        if let above = divisors.first(where: { $0 > preferred && $0 <= 2 * preferred }) { return above }
        return divisors.last { $0 < preferred } ?? divisors.first!
    }
}

/// gcd(a, b) for positive integers.
func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x
}
