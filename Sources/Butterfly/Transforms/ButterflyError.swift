/// Why a butterfly or fast-transform request was refused, naming the valid choices.
public enum ButterflyError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Butterfly factors pair indices i and i XOR s, so the size must be a power of two.
    case notPowerOfTwo(operation: String, n: Int)
    /// A Monarch factorisation needs n = p·q with 1 < p, q < n.
    case primeLength(n: Int)
    case invalidPermutation(String)
    case shapeMismatch(operation: String, message: String)
    case unsupported(operation: String, message: String)

    public var description: String {
        switch self {
        case .notPowerOfTwo(let operation, let n):
            let below = n >= 2 ? 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount) : 2
            return "\(operation): size \(n) is not a power of two ≥ 2 (nearest valid sizes: \(below), \(below * 2)); for other composite sizes use the Monarch DFT"
        case .primeLength(let n):
            return "MonarchDFT: n = \(n) is \(n < 2 ? "less than 2" : "prime"), so it has no factorisation n = p·q with 1 < p, q < n; the Monarch DFT needs a composite length (e.g. \(max(2 * n, 4)))"
        case .invalidPermutation(let message):
            return "invalid permutation: \(message)"
        case .shapeMismatch(let operation, let message), .unsupported(let operation, let message):
            return "\(operation): \(message)"
        }
    }
}
