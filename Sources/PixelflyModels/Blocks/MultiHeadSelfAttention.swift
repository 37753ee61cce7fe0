import PixelflyCore

/// Multi-head self-attention over sequences of length T, optionally causal, optionally with
/// block-sparse (flat butterfly) scores.
///
/// Input and output are (B·T, C): B sequences of T tokens, one row per token. With H heads of
/// width d = C/H and Q = query(X), K = key(X), V = value(X), per sequence b and head h
/// (Q_bh the T×d slice of rows b·T…, columns h·d…):
///
///     P_bh = softmax_rows(Q_bh·K_bhᵀ / √d  + mask),   O_bh = P_bh·V_bh,   Y = output(O)
///
/// where the mask is −∞ outside the allowed (query, key) pairs: j ≤ i when causal, and the
/// flat butterfly block grid when `scorePattern` is `.flatButterfly`. Masked scores are never
/// computed: each query block multiplies only against its allowed key blocks (BLAS GEMMs on
/// head slices addressed in place through leading dimensions — no gathering), and the softmax
/// runs over the allowed entries only.
///
/// All four projections come from the factory, so q, k, v **and** the output projection can be
/// any linear kind. The forward keeps Q, K, V, the probabilities and O for the backward pass.
public final class MultiHeadSelfAttention<Scalar: TensorScalar>: Layer {
    public let features: Int
    public let heads: Int
    public let headFeatures: Int
    public let sequenceLength: Int
    public let isCausal: Bool
    public let scorePattern: AttentionScorePattern
    public let query: any LinearLayer<Scalar>
    public let key: any LinearLayer<Scalar>
    public let value: any LinearLayer<Scalar>
    public let output: any LinearLayer<Scalar>
    let layout: AttentionBlockLayout
    /// 1/√d.
    let scale: Scalar

    // Forward state, kept for the backward pass and reused across steps.
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    var queries = Matrix<Scalar>(rows: 0, cols: 0)
    var keys = Matrix<Scalar>(rows: 0, cols: 0)
    var values = Matrix<Scalar>(rows: 0, cols: 0)
    /// (B·H·T, panel width): the probability panels of every (sequence, head, query block).
    var probabilities = Matrix<Scalar>(rows: 0, cols: 0)
    var context = Matrix<Scalar>(rows: 0, cols: 0)
    // Backward workspaces.
    var contextGradient = Matrix<Scalar>(rows: 0, cols: 0)
    /// One query block's score-gradient panel per part of the backward's split over the
    /// threads (parts · blockSize, panel width).
    var panelGradient = Matrix<Scalar>(rows: 0, cols: 0)
    var queryGradient = Matrix<Scalar>(rows: 0, cols: 0)
    var keyGradient = Matrix<Scalar>(rows: 0, cols: 0)
    var valueGradient = Matrix<Scalar>(rows: 0, cols: 0)
    var partialInputGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// - Parameters:
    ///   - features: C, the model width; must be divisible by `heads`.
    ///   - heads: H, the number of heads of width C/H.
    ///   - sequenceLength: T; the input's row count must be a multiple of it.
    ///   - causal: whether position i attends only to positions j ≤ i.
    ///   - scorePattern: which (query, key) blocks are computed.
    ///   - name: parameter prefix; projections are `name.query`, `.key`, `.value`, `.output`.
    ///   - linear: makes each of the four C → C projections.
    ///   - rng: draws the initial weights.
    public init(features: Int, heads: Int, sequenceLength: Int, causal: Bool = false,
                scorePattern: AttentionScorePattern = .dense, name: String = "attention",
                linear: LinearFactory<Scalar>, rng: inout SeededRandom) throws {
        guard features > 0, heads > 0, features % heads == 0 else {
            throw ShapeError("MultiHeadSelfAttention", "heads (\(heads)) must be positive and divide features (\(features))")
        }
        guard sequenceLength > 0 else {
            throw ShapeError("MultiHeadSelfAttention", "sequence length must be positive, got \(sequenceLength)")
        }
        self.features = features
        self.heads = heads
        headFeatures = features / heads
        self.sequenceLength = sequenceLength
        isCausal = causal
        self.scorePattern = scorePattern
        layout = try AttentionBlockLayout(sequenceLength: sequenceLength, pattern: scorePattern, isCausal: causal)
        scale = 1 / Scalar(headFeatures).squareRoot()
        query = try linear(features, features, name + ".query", &rng)
        key = try linear(features, features, name + ".key", &rng)
        value = try linear(features, features, name + ".value", &rng)
        output = try linear(features, features, name + ".output", &rng)
        for (role, layer) in [("query", query), ("key", key), ("value", value), ("output", output)] {
            guard layer.inputFeatures == features, layer.outputFeatures == features else {
                throw ShapeError("MultiHeadSelfAttention", "the factory made the \(role) projection "
                    + "\(layer.inputFeatures) → \(layer.outputFeatures); it must be \(features) → \(features)")
            }
        }
    }

    public var parameters: [Parameter<Scalar>] {
        query.parameters + key.parameters + value.parameters + output.parameters
    }

    /// Fraction of the T×T score matrix that is computed: 1 for dense; for dense causal the
    /// lower triangle of tiles, (n + 1)/(2n) for n tiles.
    public var scoreDensity: Double {
        Double(layout.computedScoresPerSequence) / Double(sequenceLength * sequenceLength)
    }

    /// Throws unless `x` is (B·T, C) for some B.
    func checkInput(_ x: Matrix<Scalar>, _ operation: String) throws -> Int {
        guard x.cols == features else {
            throw ShapeError(operation, "input has \(x.cols) features per row; this attention takes \(features)")
        }
        guard x.rows % sequenceLength == 0 else {
            throw ShapeError(operation, "input has \(x.rows) rows, not a multiple of the sequence length \(sequenceLength) "
                + "(rows are batch × tokens)")
        }
        return x.rows / sequenceLength
    }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        let batch = try checkInput(x, "MultiHeadSelfAttention.forward")
        forwardInput.record(x)
        try query.forward(x, into: &queries)
        try key.forward(x, into: &keys)
        try value.forward(x, into: &values)
        probabilities.ensureShape(rows: batch * heads * sequenceLength, cols: layout.panelWidth)
        context.ensureShape(rows: x.rows, cols: features)
        attend(batch: batch)
        try output.forward(context, into: &y)
    }

    /// Scores, softmax and context for every (sequence, head, query block).
    ///
    /// The (sequence, head) pairs are independent — each writes its own probability panels and
    /// its own head's columns of its sequence's context rows — so they are split over the
    /// compute threads (`splitOverPairs`); every pair is computed the same way on any thread.
    private func attend(batch: Int) {
        let (c, d, bs, width) = (features, headFeatures, layout.blockSize, layout.panelWidth)
        queries.withUnsafeBufferPointer { pq in
            keys.withUnsafeBufferPointer { pk in
                values.withUnsafeBufferPointer { pv in
                    probabilities.withUnsafeMutableBufferPointer { pp in
                        context.withUnsafeMutableBufferPointer { po in
                            let (q, k, v, p, o) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pp.baseAddress!, po.baseAddress!)
                            splitOverPairs(batch: batch, productsPerPair: 2) { b, h, _ in
                                for qb in 0..<layout.blockCount {
                                    let queryRow = blockRow(sequence: b, block: qb)
                                    let panel = p + panelOffset(sequence: b, head: h, queryBlock: qb)
                                    let used = layout.slotCounts[qb]
                                    for s in 0..<used {
                                        let keyRow = blockRow(sequence: b, block: layout.keyBlock(qb, slot: s))
                                        // S[:, slot s] = (Q_qb · K_kbᵀ) / √d
                                        Scalar.gemm(.none, .transposed, m: bs, n: bs, k: d, alpha: scale,
                                                    a: q + queryRow * c + h * d, lda: c,
                                                    b: k + keyRow * c + h * d, ldb: c,
                                                    beta: 0, c: panel + s * bs, ldc: width)
                                    }
                                    for r in 0..<bs {
                                        BlockKernels.softmaxRow(panel + r * width,
                                                                valid: layout.validLength(queryBlock: qb, rowInBlock: r),
                                                                width: used * bs)
                                    }
                                    for s in 0..<used {
                                        let keyRow = blockRow(sequence: b, block: layout.keyBlock(qb, slot: s))
                                        // O_qb += P[:, slot s] · V_kb
                                        Scalar.gemm(.none, .none, m: bs, n: d, k: bs, alpha: 1,
                                                    a: panel + s * bs, lda: width,
                                                    b: v + keyRow * c + h * d, ldb: c,
                                                    beta: s == 0 ? 0 : 1, c: o + queryRow * c + h * d, ldc: c)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body(sequence, head, part)` for every (sequence, head) pair of a `batch`-sequence
    /// batch, the pairs cut into at most `maximumParts` contiguous ranges by the library's rule
    /// (`ComputeThreads.forEachPart`) and run in parallel; `part` (< `maximumParts`) picks a
    /// per-part workspace.
    ///
    /// A pair's work is `productsPerPair` products of its computed scores by the head width
    /// (two in the forward: scores and context; four in the backward), in multiply-adds, and a
    /// part gets at least 2¹⁸ of them, the least for which the library's GEMMs take a second
    /// thread. In a Pixelfly GPT step (width 512, 2 blocks, batch 16; AMD EPYC Zen 5, 2 threads)
    /// the per-head products ran on the calling thread alone for about a fifth of the step while
    /// the other thread waited (notebooks-md/kernel-passes/37-attention-over-threads.md).
    func splitOverPairs(batch: Int, productsPerPair: Int, maximumParts: Int = ComputeThreads.count,
                        _ body: (_ sequence: Int, _ head: Int, _ part: Int) -> Void) {
        let pairs = batch * heads
        ComputeThreads.forEachPart(items: pairs, work: pairs * productsPerPair * layout.computedScoresPerSequence * headFeatures,
                                   minimumPerPart: 1 << 18, threads: maximumParts) { range, part, _ in
            for pair in range {
                let (sequence, head) = pair.quotientAndRemainder(dividingBy: heads)
                body(sequence, head, part)
            }
        }
    }

    /// The first row of block `block` (query or key) of sequence `sequence` in Q, K, V, the
    /// context and their gradients.
    func blockRow(sequence: Int, block: Int) -> Int { sequence * sequenceLength + block * layout.blockSize }

    /// Where the probability panel of (`sequence`, `head`, query block `queryBlock`) starts in
    /// `probabilities` (B·H·T rows of panel width, a panel per query block).
    func panelOffset(sequence: Int, head: Int, queryBlock: Int) -> Int {
        ((sequence * heads + head) * sequenceLength + queryBlock * layout.blockSize) * layout.panelWidth
    }
}
