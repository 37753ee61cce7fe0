/// Bad input to `GPTGenerator`: what was wrong and what is valid.
public enum GenerationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The prompt has more bytes than the model's context T.
    case promptTooLong(bytes: Int, context: Int)
    case emptyPrompt
    /// Temperature must be finite and ≥ 0 (0 is greedy decoding).
    case invalidTemperature(Double)
    /// top-k must be in 0…V (0 keeps the whole vocabulary).
    case invalidTopK(Int, vocabulary: Int)
    /// A token id outside 0..<V.
    case tokenOutOfRange(Int, vocabulary: Int)

    public var description: String {
        switch self {
        case let .promptTooLong(bytes, context):
            return "the prompt is \(bytes) bytes; this model's context holds at most \(context) (shorten the prompt to its last \(context) bytes)"
        case .emptyPrompt:
            return "the prompt is empty; give at least one byte to continue from"
        case let .invalidTemperature(t):
            return "temperature \(t) is invalid; use a finite value ≥ 0 (0 picks the most likely byte)"
        case let .invalidTopK(k, vocabulary):
            return "top-k \(k) is invalid; use 1…\(vocabulary), or 0 for the whole vocabulary"
        case let .tokenOutOfRange(token, vocabulary):
            return "token \(token) is outside the vocabulary 0..<\(vocabulary)"
        }
    }
}
