/// A checkpoint that reads fine but does not fit the model loading it: a tensor the model needs
/// is missing, or holds another element type, or has another shape. (A damaged or malformed
/// file throws `FileError`.)
public struct CheckpointMismatchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The checkpoint file (or a label such as `"checkpoint"`).
    public let source: String
    /// The tensor that does not fit.
    public let tensor: String
    /// What the checkpoint holds and what the model expects (naming the tensor).
    public let message: String

    public init(source: String, tensor: String, _ message: String) {
        self.source = source
        self.tensor = tensor
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}
