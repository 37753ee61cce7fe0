/// A shape or configuration that an operation cannot accept.
///
/// Contract: every public entry point that takes user-controlled shapes (matrix products,
/// layer forward/backward, constructors) checks them and throws `ShapeError`; nothing traps on
/// a shape mismatch. Index out of range in `Matrix` subscripts is a programmer error and traps
/// (as `Array` does).
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
