/// A shape or size that an operation cannot accept.
///
/// Contract: every public entry point that takes user-controlled shapes (matrix products,
/// layer forward/backward, constructors, the row helpers) checks them and throws `ShapeError`;
/// nothing traps on a shape mismatch. Settings out of range throw `ConfigurationError` instead.
/// Sizes enter through throwing calls (`Matrix(validatingRows:cols:)`,
/// `reshape(validatingRows:cols:)`, `SeededRandom.index(validatingBelow:)`); the only trap left
/// is an index out of range in a `Matrix` subscript, as in the standard library.
public struct ShapeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operation that refused its input, e.g. `"gemm"` or `"DenseLinear.forward"`.
    public let operation: String
    /// What was wrong and what would be valid.
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
