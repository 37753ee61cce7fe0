#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// Incremental decoding for a `GPT` with a key/value cache: one token in, the next token's
/// logits out, reusing the keys and values of every earlier position.
///
/// Position t of block i computes, from the block input x_t (a row),
///
///     q, k_t, v_t = query/key/value(LN(x_t)),   cache k_t, v_t in row t
///     o_h = Σ_{j ∈ A(t)} softmax_j(q_h·k_{j,h} / √d) · v_{j,h}    per head h
///     x_t ← x_t + output(o);   x_t ← x_t + MLP(LN(x_t))
///
/// where A(t) are the keys position t may see: j ≤ t, and with flat butterfly scores only
/// those whose block the grid allows — the same set as the full causal forward, so the logits
/// equal `GPT.forward`'s row t (up to rounding: products of other shapes). It uses the model's
/// own layers (same parameters), so it must not run while the model trains. Every buffer is
/// sized at initialisation: `append` allocates nothing.
public final class GPTDecoder {
    public let model: GPT<Float>
    /// Tokens in the cache (the position of the next token).
    public private(set) var length = 0
    /// The logits (1, V) of the token after the last appended one.
    public private(set) var logits: Matrix<Float>

    private let attentions: [MultiHeadSelfAttention<Float>]
    private let attentionNorms: [LayerNorm<Float>]
    private let mlps: [MLPBlock<Float>]
    private let mlpNorms: [LayerNorm<Float>]
    /// Per block, (T, C) keys and values of the cached positions.
    private var keys: [Matrix<Float>]
    private var values: [Matrix<Float>]
    /// allowed[t·T + j]: position t may attend to position j.
    private let allowed: [Bool]
    private var x: Matrix<Float>
    private var normalized: Matrix<Float>
    private var query: Matrix<Float>
    private var key: Matrix<Float>
    private var value: Matrix<Float>
    private var context: Matrix<Float>
    private var branch: Matrix<Float>
    private var scores: [Float]

    public init(_ model: GPT<Float>) throws {
        self.model = model
        let c = model.configuration
        var attentions: [MultiHeadSelfAttention<Float>] = []
        var attentionNorms: [LayerNorm<Float>] = []
        var mlps: [MLPBlock<Float>] = []
        var mlpNorms: [LayerNorm<Float>] = []
        for (index, layer) in model.blocks.layers.enumerated() {
            guard let residual = layer as? PreNormResidual<Float> else {
                throw ShapeError("GPTDecoder", "block layer \(index) is \(type(of: layer)), not a pre-norm residual")
            }
            if let attention = residual.body as? MultiHeadSelfAttention<Float>, index % 2 == 0 {
                attentions.append(attention)
                attentionNorms.append(residual.norm)
            } else if let mlp = residual.body as? MLPBlock<Float>, index % 2 == 1 {
                mlps.append(mlp)
                mlpNorms.append(residual.norm)
            } else {
                throw ShapeError("GPTDecoder", "block layer \(index) holds \(type(of: residual.body)); expected attention and MLP alternating")
            }
        }
        (self.attentions, self.attentionNorms, self.mlps, self.mlpNorms) = (attentions, attentionNorms, mlps, mlpNorms)
        let (t, w) = (c.context, c.width)
        keys = Array(repeating: Matrix(rows: t, cols: w), count: attentions.count)
        values = Array(repeating: Matrix(rows: t, cols: w), count: attentions.count)
        let pattern = try c.attentionScores.pattern()
        var allowed = [Bool](repeating: false, count: t * t)
        let grid: (FlatButterflyScoreGrid, Int)? = switch pattern {
        case .dense: nil
        case let .flatButterfly(blockSize, factors): (try FlatButterflyScoreGrid(blocks: t / blockSize, factors: factors), blockSize)
        }
        for i in 0..<t {
            for j in 0...i { allowed[i * t + j] = grid.map { $0.0.isAllowed(i / $0.1, j / $0.1) } ?? true }
        }
        self.allowed = allowed
        (x, normalized, query, key, value, context, branch) = (Matrix(rows: 1, cols: w), Matrix(rows: 1, cols: w),
            Matrix(rows: 1, cols: w), Matrix(rows: 1, cols: w), Matrix(rows: 1, cols: w), Matrix(rows: 1, cols: w),
            Matrix(rows: 1, cols: w))
        logits = Matrix(rows: 1, cols: c.vocabulary)
        scores = [Float](repeating: 0, count: t)
    }

    /// Empties the cache.
    public func reset() { length = 0 }

    /// Runs `token` at position `length` and sets `logits` to the next token's. Throws
    /// `GenerationError` for a token outside the vocabulary, `ShapeError` when the cache is full
    /// (length = T; `reset` and re-append a shorter window).
    public func append(_ token: Int) throws {
        let c = model.configuration
        guard token >= 0, token < c.vocabulary else { throw GenerationError.tokenOutOfRange(token, vocabulary: c.vocabulary) }
        guard length < c.context else {
            throw ShapeError("GPTDecoder.append", "the cache holds \(length) tokens, the whole context; reset it first")
        }
        let t = length
        TokenOperations.copyRow(model.tokenEmbedding.value, token, into: &x, 0)
        TokenOperations.addRow(model.positions.value, t, into: &x, 0)
        for block in attentions.indices {
            try attentionNorms[block].forward(x, into: &normalized)
            let attention = attentions[block]
            try attention.query.forward(normalized, into: &query)
            try attention.key.forward(normalized, into: &key)
            try attention.value.forward(normalized, into: &value)
            TokenOperations.copyRow(key, 0, into: &keys[block], t)
            TokenOperations.copyRow(value, 0, into: &values[block], t)
            attend(block: block, position: t, heads: attention.heads, headFeatures: attention.headFeatures)
            try attention.output.forward(context, into: &branch)
            TokenOperations.addRow(branch, 0, into: &x, 0)
            try mlpNorms[block].forward(x, into: &normalized)
            try mlps[block].forward(normalized, into: &branch)
            TokenOperations.addRow(branch, 0, into: &x, 0)
        }
        try model.finalNorm.forward(x, into: &normalized)
        if let head = model.head {
            try head.forward(normalized, into: &logits)
        } else {
            try gemm(normalized, .none, model.tokenEmbedding.value, .transposed, into: &logits)
        }
        length += 1
    }

    /// context_h = Σ_j softmax_j(q_h·k_{j,h}/√d)·v_{j,h} over the allowed cached positions j ≤ t.
    private func attend(block: Int, position t: Int, heads: Int, headFeatures d: Int) {
        let (w, span) = (model.configuration.width, model.configuration.context)
        let scale = 1 / Float(d).squareRoot()
        query.withUnsafeBufferPointer { q in
            keys[block].withUnsafeBufferPointer { k in
                values[block].withUnsafeBufferPointer { v in
                    context.withUnsafeMutableBufferPointer { o in
                        scores.withUnsafeMutableBufferPointer { s in
                            for h in 0..<heads {
                                var maximum = -Float.infinity
                                for j in 0...t where allowed[t * span + j] {
                                    var dot: Float = 0
                                    for e in 0..<d { dot += q[h * d + e] * k[j * w + h * d + e] }
                                    s[j] = dot * scale
                                    maximum = max(maximum, s[j])
                                }
                                var total: Float = 0
                                for j in 0...t where allowed[t * span + j] {
                                    s[j] = expf(s[j] - maximum)
                                    total += s[j]
                                }
                                for e in 0..<d { o[h * d + e] = 0 }
                                for j in 0...t where allowed[t * span + j] {
                                    let p = s[j] / total
                                    for e in 0..<d { o[h * d + e] += p * v[j * w + h * d + e] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
