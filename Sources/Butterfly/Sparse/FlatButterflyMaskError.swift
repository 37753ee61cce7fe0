/// A flat block butterfly configuration that the mask rule cannot build, with the constraint it
/// breaks and valid alternatives.
public enum FlatButterflyMaskError: Error, Equatable, Sendable, CustomStringConvertible {
    /// B must be a power of two ≥ 2; `suggestions` are the nearest powers of two.
    case butterflySizeNotPowerOfTwo(Int, suggestions: [Int])
    /// K must satisfy 1 ≤ K ≤ log2 B.
    case factorsOutOfRange(Int, butterflySize: Int, valid: ClosedRange<Int>)
    /// The block size b must be positive.
    case blockSizeNotPositive(Int)
    /// Each of (out, in) must be a positive multiple of lcm(B, b) so that the grid stretches to
    /// whole tiles and the blocks tile the matrix; `suggestions` are the nearest valid sizes.
    case dimensionNotDivisible(dimension: String, size: Int, multipleOf: Int, butterflySize: Int, blockSize: Int,
                               suggestions: [Int])
    /// The global size must satisfy 0 ≤ g ≤ min(out, in).
    case globalSizeOutOfRange(Int, maximum: Int)

    public var description: String {
        switch self {
        case let .butterflySizeNotPowerOfTwo(b, suggestions):
            return "butterfly size B = \(b) must be a power of two ≥ 2; try \(list(suggestions))"
        case let .factorsOutOfRange(k, b, valid):
            return "number of factors K = \(k) must satisfy 1 ≤ K ≤ log2 B = \(valid.upperBound) for B = \(b); "
                + "valid: \(valid.lowerBound)…\(valid.upperBound)"
        case let .blockSizeNotPositive(b):
            return "block size b = \(b) must be positive (a multiple of 16 runs best)"
        case let .dimensionNotDivisible(dimension, size, multiple, b, block, suggestions):
            return "\(dimension) = \(size) must be a positive multiple of lcm(B = \(b), b = \(block)) = \(multiple) "
                + "(B tiles of whole b×b blocks); nearest valid sizes: \(list(suggestions))"
        case let .globalSizeOutOfRange(g, maximum):
            return "global size g = \(g) must satisfy 0 ≤ g ≤ min(out, in) = \(maximum)"
        }
    }

    private func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: " or ") }
}

extension FlatButterflyMaskError {
    /// The nearest positive multiples of `multiple` below and above `size`.
    static func nearestMultiples(of multiple: Int, around size: Int) -> [Int] {
        let below = (size / multiple) * multiple
        let above = below + multiple
        return below > 0 ? [below, above] : [above]
    }

    /// The nearest powers of two ≥ 2 below and above `size`.
    static func nearestPowersOfTwo(around size: Int) -> [Int] {
        var below = 2
        while below * 2 <= size { below *= 2 }
        return below >= size ? [below] : [below, below * 2]
    }
}
