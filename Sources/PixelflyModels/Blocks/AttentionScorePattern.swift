import Butterfly
import PixelflyCore

/// Which entries of the T×T attention score matrix are computed.
public enum AttentionScorePattern: Equatable, Sendable {
    /// Every (query, key) pair (subject to the causal mask).
    case dense
    /// Block-sparse: the score matrix is cut into `blockSize`×`blockSize` blocks, and query
    /// block i attends to key block j only where the flat butterfly grid allows it:
    /// G[i, j] = 1 iff i XOR j ∈ {0} ∪ {2^k : k < factors} (method notes, section 2). The number
    /// of blocks T/blockSize must be a power of 2 and 1 ≤ factors ≤ log2(T/blockSize). Each
    /// query block sees factors + 1 key blocks, so scores cost (factors + 1)·blockSize/T of dense.
    case flatButterfly(blockSize: Int, factors: Int)
}

/// The flat butterfly block grid over a `blocks`×`blocks` score matrix of blocks:
/// `isAllowed(i, j)` iff i XOR j is 0 or a power of two below 2^factors — the same grid as the
/// Pixelfly weight mask (`FlatButterflyMask.gridMask`), applied to (query block, key block).
public struct FlatButterflyScoreGrid: Equatable, Sendable {
    public let blocks: Int
    public let factors: Int
    /// Row-major blocks × blocks.
    private let grid: [Bool]

    /// Throws unless `blocks` is a power of 2 (≥ 2) and 1 ≤ factors ≤ log2(blocks).
    public init(blocks: Int, factors: Int) throws {
        guard blocks >= 2, blocks & (blocks - 1) == 0 else {
            throw ShapeError("FlatButterflyScoreGrid", "the number of blocks must be a power of 2 (at least 2), got \(blocks)")
        }
        let log2Blocks = blocks.trailingZeroBitCount
        guard factors >= 1, factors <= log2Blocks else {
            throw ShapeError("FlatButterflyScoreGrid", "factors must be in 1...\(log2Blocks) for \(blocks) blocks, got \(factors)")
        }
        self.blocks = blocks
        self.factors = factors
        grid = FlatButterflyMask.gridMask(butterflySize: blocks, factors: factors)
    }

    public func isAllowed(_ i: Int, _ j: Int) -> Bool { grid[i * blocks + j] }

    /// The allowed key blocks of query block `i`, ascending.
    public func allowedKeyBlocks(_ i: Int) -> [Int] {
        (0..<blocks).filter { isAllowed(i, $0) }
    }
}
