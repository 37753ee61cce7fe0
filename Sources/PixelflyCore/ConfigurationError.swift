/// A setting outside its valid range: a hyperparameter (AdamW's β, a learning rate, a dropout
/// probability, an epsilon), a name that must be unique, a thread count, a choice among named
/// options. Shapes that do not fit throw `ShapeError` instead.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operation or type that refused the setting, e.g. `"AdamW"`.
    public let operation: String
    /// What was wrong and what would be valid.
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
