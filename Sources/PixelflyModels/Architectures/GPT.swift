import PixelflyCore

/// Configuration of a byte-level `GPT`.
public struct GPTConfiguration: Codable, Sendable, Equatable {
    /// Vocabulary V (256 for bytes).
    public var vocabulary: Int
    /// Sequence length T.
    public var context: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    public var mlpHidden: Int
    /// Whether the output head reuses the token embedding (logits = h·Eᵀ).
    public var tiedHead: Bool
    /// The kind of every block linear.
    public var linear: LinearKind
    /// The kind of the untied head.
    public var headLinear: LinearKind
    public var attentionScores: AttentionScoreConfiguration

    /// T = 16, width 16, 1 block: for gradient checks.
    public static let tiny = GPTConfiguration(
        vocabulary: 256, context: 16, width: 16, depth: 1, heads: 2, mlpHidden: 32, tiedHead: true,
        linear: .dense, headLinear: .dense, attentionScores: .dense)

    /// T = 64, width 128, 4 blocks.
    public static let small = GPTConfiguration(
        vocabulary: 256, context: 64, width: 128, depth: 4, heads: 4, mlpHidden: 512, tiedHead: true,
        linear: .dense, headLinear: .dense, attentionScores: .dense)
}

/// A small GPT (Radford et al.) over byte tokens: token + learned position embeddings →
/// causal pre-norm blocks → LayerNorm → head (tied to the token embedding, or its own linear).
///
/// Input (B, T): token ids stored as scalars (whole numbers in 0..<V). Output (B·T, V): the
/// logits of the next token at every position. The input gradient is zero (ids are not
/// differentiable).
public final class GPT<Scalar: TensorScalar>: TrainableModel {
    public let configuration: GPTConfiguration
    /// (V, D).
    public let tokenEmbedding: Parameter<Scalar>
    /// (T, D).
    public let positions: Parameter<Scalar>
    public let blocks: LayerSequence<Scalar>
    public let finalNorm: LayerNorm<Scalar>
    /// nil when the head is tied.
    public let head: (any LinearLayer<Scalar>)?
    public let parameters: [Parameter<Scalar>]
    /// Indices in `parameters` where the final norm's and the head's parameters start (the blocks' at 2).
    private let normStart: Int, headStart: Int
    public var classCount: Int { configuration.vocabulary }

    private var tokenIDs: [Int] = []
    private var blockInput = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutput = Matrix<Scalar>(rows: 0, cols: 0)
    private var normalized = Matrix<Scalar>(rows: 0, cols: 0)
    private var normalizedGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockOutputGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var blockInputGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(_ configuration: GPTConfiguration, rng: inout SeededRandom) throws {
        let c = configuration
        self.configuration = c
        guard c.vocabulary > 0 else { throw ShapeError("GPT", "vocabulary must be positive, got \(c.vocabulary)") }
        tokenEmbedding = Parameter(name: "token_embedding", value: Matrix(rows: c.vocabulary, cols: c.width, initializer: .normal(mean: 0, standardDeviation: 0.02), rng: &rng), weightDecay: true)
        positions = Parameter(name: "positions", value: Matrix(rows: c.context, cols: c.width, initializer: .normal(mean: 0, standardDeviation: 0.02), rng: &rng), weightDecay: false)
        blocks = try makeTransformerBlocks(depth: c.depth, width: c.width, heads: c.heads, hiddenFeatures: c.mlpHidden,
                                           sequenceLength: c.context, causal: true, scorePattern: c.attentionScores.pattern(),
                                           linear: c.linear.factory(), rng: &rng)
        finalNorm = try LayerNorm(features: c.width, name: "final_norm")
        head = c.tiedHead ? nil : try c.headLinear.factory()(c.width, c.vocabulary, "head", &rng)
        parameters = [tokenEmbedding, positions] + blocks.parameters + finalNorm.parameters + (head?.parameters ?? [])
        normStart = 2 + blocks.parameters.count
        headStart = normStart + finalNorm.parameters.count
    }

    public func forward(_ tokens: Matrix<Scalar>, into logits: inout Matrix<Scalar>) throws {
        try readTokenIDs(tokens)
        let d = configuration.width
        blockInput.ensureShape(rows: tokenIDs.count, cols: d)
        for row in 0..<tokenIDs.count {
            TokenOperations.copyRow(tokenEmbedding.value, tokenIDs[row], into: &blockInput, row)
        }
        TokenOperations.addPositions(positions.value, to: &blockInput)
        try blocks.forward(blockInput, into: &blockOutput)
        try finalNorm.forward(blockOutput, into: &normalized)
        if let head {
            try head.forward(normalized, into: &logits)
        } else {
            try gemm(normalized, .none, tokenEmbedding.value, .transposed, into: &logits)
        }
    }

    public func backward(input tokens: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dTokens: inout Matrix<Scalar>) throws {
        try backward(input: tokens, outputGradient: dLogits, inputGradient: &dTokens, gradientsReady: { _ in })
    }

    /// Parameters are token embedding, positions, blocks, final norm, head: the backward finishes
    /// them from the end (the token embedding last, also when it is the tied head).
    public func backward(input tokens: Matrix<Scalar>, outputGradient dLogits: Matrix<Scalar>,
                         inputGradient dTokens: inout Matrix<Scalar>, gradientsReady: (Int) throws -> Void) throws {
        guard tokenIDs.count == tokens.count, dLogits.rows == tokens.count, dLogits.cols == configuration.vocabulary else {
            throw ShapeError("GPT.backward", "logit gradient is \(dLogits.rows)×\(dLogits.cols); the last forward had \(tokenIDs.count) tokens and \(configuration.vocabulary) classes")
        }
        if let head {
            try head.backward(input: normalized, outputGradient: dLogits, inputGradient: &normalizedGradient)
        } else {
            // logits = h·Eᵀ:  ∂E += ∂logitsᵀ·h,  ∂h = ∂logits·E
            try tokenEmbedding.updateGradient { try gemm(dLogits, .transposed, normalized, .none, beta: 1, into: &$0) }
            try gemm(dLogits, .none, tokenEmbedding.value, .none, into: &normalizedGradient)
        }
        try gradientsReady(headStart)
        try finalNorm.backward(input: blockOutput, outputGradient: normalizedGradient, inputGradient: &blockOutputGradient)
        try gradientsReady(normStart)
        try blocks.backward(input: blockInput, outputGradient: blockOutputGradient, inputGradient: &blockInputGradient,
                            gradientsReady: { try gradientsReady(2 + $0) })
        try positions.updateGradient { TokenOperations.accumulatePositionGradient(blockInputGradient, into: &$0) }
        for row in 0..<tokenIDs.count {
            try tokenEmbedding.updateGradient { TokenOperations.addRow(blockInputGradient, row, into: &$0, tokenIDs[row]) }
        }
        try gradientsReady(0)
        dTokens.setZero(rows: tokens.rows, cols: tokens.cols)
    }

    /// Checks that `tokens` is (B, T) of whole numbers in 0..<V (within 1e-3, so that a
    /// finite-difference probe of the input does not change the token) and keeps them as integers.
    private func readTokenIDs(_ tokens: Matrix<Scalar>) throws {
        let (v, t) = (configuration.vocabulary, configuration.context)
        guard tokens.cols == t else {
            throw ShapeError("GPT.forward", "input has \(tokens.cols) tokens per sequence; this model's context is \(t)")
        }
        tokenIDs.removeAll(keepingCapacity: true)
        try tokens.withUnsafeBufferPointer { ids in
            for i in ids.indices {
                let id = ids[i].rounded()
                guard id >= 0, id < Scalar(v), abs(ids[i] - id) <= 1e-3 else {
                    throw ShapeError("GPT.forward", "token \(ids[i]) at position \(i) is not a whole number in 0..<\(v)")
                }
                tokenIDs.append(Int(id))
            }
        }
    }
}
