/// Why a dense-to-sparse conversion was refused. Nothing is written when one is thrown.
public enum ConversionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The checkpoint is readable but is not a training checkpoint with a configuration.
    case notATrainingCheckpoint(path: String, reason: String)
    /// The checkpoint's block linears are not all dense.
    case sourceNotDense(path: String, kinds: String)
    /// The target kind cannot be projected onto (named, with the kinds that can).
    case unsupportedTarget(String)
    /// The converted model's parameters do not line up with the dense model's.
    case parameterMismatch(String)
    /// Input and output are the same file.
    case outputIsInput(String)

    public var description: String {
        switch self {
        case .notATrainingCheckpoint(let path, let reason):
            return "\(path): not a training checkpoint written by `pixelfly-bench train` (\(reason))"
        case .sourceNotDense(let path, let kinds):
            return "\(path): only dense models convert; this checkpoint's block linears are \(kinds)"
        case .unsupportedTarget(let message):
            return "cannot convert to \(message); targets are pixelfly (sum), monarch, blocksparse, lowrank"
        case .parameterMismatch(let message):
            return "converted model does not match the dense one: \(message)"
        case .outputIsInput(let path):
            return "--out \(path) is the input checkpoint; write the converted model to another file"
        }
    }
}
