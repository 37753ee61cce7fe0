import PixelflyCore

/// Which key blocks each query block of one sequence attends to, after the score pattern and
/// the causal mask; how the block-sparse scores are stored.
///
/// Scores (and probabilities) of query block q are a blockSize × (slots·blockSize) panel:
/// slot s holds the scores against key block `keyBlock(q, s)`. Key blocks are ascending, so
/// with a causal mask the diagonal block is the last used slot and masked entries form a
/// suffix of each row — softmax runs over a prefix (`validLength`). Dense attention is the
/// special case of one block of size T; dense *causal* attention is tiled (blocks of 128, 64 or
/// 32 when one divides T at least twice) so that query block i multiplies only against key
/// blocks 0…i — the score and context GEMMs skip the masked upper triangle of blocks.
struct AttentionBlockLayout: Equatable, Sendable {
    let sequenceLength: Int
    let blockSize: Int
    let blockCount: Int
    let isCausal: Bool
    /// Panel width in blocks (the largest number of key blocks of any query block).
    let slots: Int
    /// Row-major blockCount × slots; entries past `slotCounts[q]` are unused.
    private let keyBlocks: [Int]
    let slotCounts: [Int]
    /// Score entries computed per sequence (per head), for FLOP counts and the split of the
    /// attention core over the threads (stored: read on every forward and backward).
    let computedScoresPerSequence: Int

    init(sequenceLength: Int, pattern: AttentionScorePattern, isCausal: Bool) throws {
        var allowed: [[Int]]
        switch pattern {
        case .dense:
            let tile = isCausal ? Self.causalTile(sequenceLength) : sequenceLength
            blockSize = tile
            allowed = (0..<(sequenceLength / tile)).map { Array(0...$0) }
        case let .flatButterfly(blockSize, factors):
            guard blockSize > 0, sequenceLength % blockSize == 0 else {
                throw ShapeError("MultiHeadSelfAttention", "score block size \(blockSize) must be positive and divide "
                    + "the sequence length \(sequenceLength)")
            }
            let grid = try FlatButterflyScoreGrid(blocks: sequenceLength / blockSize, factors: factors)
            self.blockSize = blockSize
            allowed = (0..<grid.blocks).map(grid.allowedKeyBlocks)
        }
        if isCausal { allowed = allowed.enumerated().map { q, keys in keys.filter { $0 <= q } } }
        self.sequenceLength = sequenceLength
        self.isCausal = isCausal
        blockCount = allowed.count
        let width = allowed.map(\.count).max() ?? 0
        slots = width
        slotCounts = allowed.map(\.count)
        computedScoresPerSequence = slotCounts.reduce(0, +) * blockSize * blockSize
        keyBlocks = allowed.flatMap { $0 + Array(repeating: 0, count: width - $0.count) }
    }

    /// The tile size of dense causal attention: the largest of 128, 64, 32 giving at least two
    /// tiles, or T itself.
    static func causalTile(_ sequenceLength: Int) -> Int {
        [128, 64, 32].first { sequenceLength % $0 == 0 && sequenceLength / $0 >= 2 } ?? sequenceLength
    }

    /// Width of a score panel row.
    var panelWidth: Int { slots * blockSize }

    func keyBlock(_ queryBlock: Int, slot: Int) -> Int { keyBlocks[queryBlock * slots + slot] }

    /// Number of leading entries of row `rowInBlock` of query block `queryBlock`'s panel that
    /// take part in the softmax (the rest are masked or unused).
    func validLength(queryBlock: Int, rowInBlock: Int) -> Int {
        let used = slotCounts[queryBlock] * blockSize
        return isCausal ? used - (blockSize - 1 - rowInBlock) : used
    }
}
