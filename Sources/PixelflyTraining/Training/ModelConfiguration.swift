import PixelflyCore
import PixelflyModels

/// Which model to train, with its configuration.
public enum ModelConfiguration: Codable, Sendable, Equatable {
    case vit(VisionTransformerConfiguration)
    case mixer(MLPMixerConfiguration)
    case gpt(GPTConfiguration)

    /// The names `pixelfly-bench train --model` accepts.
    public static let choices = ["vit", "mixer", "gpt"]

    /// The `size` ("tiny" or "small") preset of the model called `name` (one of `choices`).
    public static func preset(_ name: String, size: String = "small") throws -> ModelConfiguration {
        guard size == "tiny" || size == "small" else {
            throw ConfigurationError("ModelConfiguration", "unknown preset \"\(size)\"; choose tiny or small")
        }
        let tiny = size == "tiny"
        switch name {
        case "vit": return .vit(tiny ? .tiny : .small)
        case "mixer": return .mixer(tiny ? .tiny : .small)
        case "gpt": return .gpt(tiny ? .tiny : .small)
        default: throw ConfigurationError("ModelConfiguration", "unknown model \"\(name)\"; choose one of \(choices.joined(separator: ", "))")
        }
    }

    /// Replaces the width, depth or patch size of the preset (nil keeps it). The hidden widths
    /// of the MLPs scale with the width (4× for ViT and GPT, 4× channel / ½× token for Mixer)
    /// unless `hidden` (the MLP hidden width; the Mixer's channel-mixing hidden width) or
    /// `tokenHidden` (Mixer only) set them. `heads` (ViT and GPT) sets the attention heads,
    /// which must divide the width.
    public mutating func override(width: Int?, depth: Int?, patchSize: Int?,
                                  hidden: Int? = nil, tokenHidden: Int? = nil, heads: Int? = nil) throws {
        for (name, value) in [("hidden", hidden), ("token hidden", tokenHidden), ("width", width), ("depth", depth), ("heads", heads)] {
            if let value, value <= 0 { throw ShapeError("ModelConfiguration", "\(name) must be positive, got \(value)") }
        }
        if tokenHidden != nil, name != "mixer" {
            throw ShapeError("ModelConfiguration", "only the MLP-Mixer has a token-mixing hidden width; drop --token-hidden")
        }
        if heads != nil, name == "mixer" {
            throw ShapeError("ModelConfiguration", "the MLP-Mixer has no attention heads; drop --heads")
        }
        switch self {
        case .vit(var c):
            if let width { c.width = width; c.mlpHidden = 4 * width }
            if let hidden { c.mlpHidden = hidden }
            if let depth { c.depth = depth }
            if let patchSize { c.patchSize = patchSize }
            if let heads { c.heads = heads }
            try Self.checkHeads(c.heads, divide: c.width)
            self = .vit(c)
        case .mixer(var c):
            if let width { c.width = width; c.channelHidden = 4 * width; c.tokenHidden = max(1, width / 2) }
            if let hidden { c.channelHidden = hidden }
            if let tokenHidden { c.tokenHidden = tokenHidden }
            if let depth { c.depth = depth }
            if let patchSize { c.patchSize = patchSize }
            self = .mixer(c)
        case .gpt(var c):
            if let width { c.width = width; c.mlpHidden = 4 * width }
            if let hidden { c.mlpHidden = hidden }
            if let depth { c.depth = depth }
            if patchSize != nil { throw ShapeError("ModelConfiguration", "the GPT has no patch size") }
            if let heads { c.heads = heads }
            try Self.checkHeads(c.heads, divide: c.width)
            self = .gpt(c)
        }
    }

    /// Heads of width C/H need H to divide C; said here with the choices, before any model is built.
    private static func checkHeads(_ heads: Int, divide width: Int) throws {
        guard width % heads == 0 else {
            let divisors = (1...min(width, 64)).filter { width % $0 == 0 }.map(String.init).joined(separator: ", ")
            throw ShapeError("ModelConfiguration", "\(heads) heads do not divide the width \(width); choose one of \(divisors)")
        }
    }

    /// Sets the attention score pattern (ViT and GPT; the Mixer has no attention).
    public mutating func setAttentionScores(_ scores: AttentionScoreConfiguration) throws {
        switch self {
        case .vit(var c): c.attentionScores = scores; self = .vit(c)
        case .gpt(var c): c.attentionScores = scores; self = .gpt(c)
        case .mixer: throw ShapeError("ModelConfiguration", "the MLP-Mixer has no attention; drop the attention score options")
        }
    }

    public var name: String {
        switch self {
        case .vit: return "vit"
        case .mixer: return "mixer"
        case .gpt: return "gpt"
        }
    }

    /// Whether the model reads text (next-byte prediction) rather than images.
    public var isLanguageModel: Bool {
        if case .gpt = self { return true }
        return false
    }

    /// Sets the kind of every block linear (attention and MLPs; both mixing MLPs of a Mixer).
    /// Embeddings and heads keep their own kind.
    public mutating func setBlockLinear(_ kind: LinearKind) {
        switch self {
        case .vit(var c): c.linear = kind; self = .vit(c)
        case .mixer(var c): c.tokenMixingLinear = kind; c.channelMixingLinear = kind; self = .mixer(c)
        case .gpt(var c): c.linear = kind; self = .gpt(c)
        }
    }

    /// Sets the kind of the Mixer's token-mixing linears only (after `setBlockLinear`), e.g. dense
    /// token mixing over 16 tokens, too few for Pixelfly blocks, with Pixelfly channel mixing.
    public mutating func setTokenMixingLinear(_ kind: LinearKind) throws {
        guard case .mixer(var c) = self else {
            throw ShapeError("ModelConfiguration", "only the MLP-Mixer has token-mixing linears; drop --token-linear")
        }
        c.tokenMixingLinear = kind
        self = .mixer(c)
    }

    /// A freshly initialised model; the same seed gives the same weights.
    public func makeModel<Scalar: TensorScalar>(seed: UInt64, as _: Scalar.Type = Scalar.self) throws -> any TrainableModel<Scalar> {
        var rng = SeededRandom(seed: seed)
        switch self {
        case .vit(let c): return try VisionTransformer<Scalar>(c, rng: &rng)
        case .mixer(let c): return try MLPMixer<Scalar>(c, rng: &rng)
        case .gpt(let c): return try GPT<Scalar>(c, rng: &rng)
        }
    }
}
