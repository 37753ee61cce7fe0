import PixelflyCore

/// Which model to train, with its configuration.
public enum ModelConfiguration: Codable, Sendable, Equatable {
    case vit(VisionTransformerConfiguration)
    case mixer(MLPMixerConfiguration)
    case gpt(GPTConfiguration)

    /// The names `pixelfly-bench train --model` accepts.
    public static let choices = ["vit", "mixer", "gpt"]

    /// The small preset of the model called `name` (one of `choices`).
    public static func small(_ name: String) throws -> ModelConfiguration {
        switch name {
        case "vit": return .vit(.small)
        case "mixer": return .mixer(.small)
        case "gpt": return .gpt(.small)
        default: throw ShapeError("ModelConfiguration", "unknown model \"\(name)\"; choose one of \(choices.joined(separator: ", "))")
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
