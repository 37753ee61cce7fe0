import PixelflyCore

/// Seeded random windows of `context + 1` consecutive tokens, for next-token training.
///
/// Each call draws `batchSize` start positions uniformly from `0...tokenCount − context − 1`
/// and writes the windows row-major into a caller-owned `[Int]` of `batchSize·(context + 1)`
/// tokens: row `b` is `tokens[s_b ..< s_b + context + 1]`. Inputs are columns `0..<context`,
/// targets columns `1...context` of the same row. The buffer is replaced only when its size is
/// wrong (no allocation in steady state); the same seed gives the same windows.
public struct TokenWindowSampler: Sendable {
    public let tokenCount: Int
    public let context: Int
    public let batchSize: Int
    private var rng: SeededRandom

    public init(tokenCount: Int, context: Int, batchSize: Int, seed: UInt64) throws {
        guard context > 0, batchSize > 0 else {
            throw ShapeError("TokenWindowSampler", "context and batch size must be positive, got \(context) and \(batchSize)")
        }
        guard tokenCount > context else {
            throw ShapeError("TokenWindowSampler", "a window of \(context + 1) tokens does not fit in \(tokenCount) tokens")
        }
        self.tokenCount = tokenCount
        self.context = context
        self.batchSize = batchSize
        self.rng = SeededRandom(seed: seed)
    }

    /// Fills `windows` with the next batch of windows from `tokens` (`tokens.count == tokenCount`).
    public mutating func nextBatch(from tokens: [UInt8], into windows: inout [Int]) throws {
        guard tokens.count == tokenCount else {
            throw ShapeError("TokenWindowSampler.nextBatch", "sampler built for \(tokenCount) tokens, got \(tokens.count)")
        }
        let width = context + 1
        if windows.count != batchSize * width { windows = [Int](repeating: 0, count: batchSize * width) }
        tokens.withUnsafeBufferPointer { source in
            windows.withUnsafeMutableBufferPointer { destination in
                for row in 0..<batchSize {
                    let start = rng.index(below: tokenCount - context)
                    for t in 0..<width { destination[row * width + t] = Int(source[start + t]) }
                }
            }
        }
    }

    /// Draws and discards `batches` batches (to resume a run on the same stream).
    public mutating func skip(batches: Int) {
        for _ in 0..<(max(batches, 0) * batchSize) { _ = rng.index(below: tokenCount - context) }
    }
}
