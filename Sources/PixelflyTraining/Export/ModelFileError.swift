import PixelflyCore

/// Why a trained checkpoint cannot be exported, evaluated or sampled from. Each case names the
/// file, what was wrong and what is valid; nothing is written when one is thrown.
public enum ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is not a `pixelfly-bench train` checkpoint (no `configuration` metadata, or it
    /// does not describe a training run).
    case notATrainingCheckpoint(path: String, reason: String)
    /// The configuration names a model this version does not know.
    case unknownModelKind(path: String, kind: String, known: [String])
    /// The checkpoint's tensors do not fit the model its configuration describes.
    case mismatchedCheckpoint(path: String, reason: String)
    /// A layer of the model has no export form (e.g. `--dense` for a gated Pixelfly linear,
    /// whose output is not linear in the input).
    case notExportable(layer: String, reason: String)
    /// The command needs another kind of model (e.g. `generate` on an image classifier).
    case wrongModelKind(path: String, kind: String, needed: String)

    public var description: String {
        switch self {
        case let .notATrainingCheckpoint(path, reason):
            return "\(path): not a pixelfly-bench training checkpoint: \(reason)"
        case let .unknownModelKind(path, kind, known):
            return "\(path): unknown model kind \"\(kind)\"; this version knows \(known.joined(separator: ", "))"
        case let .mismatchedCheckpoint(path, reason):
            return "\(path): the tensors do not match the model its configuration describes: \(reason)"
        case let .notExportable(layer, reason):
            return "layer \(layer) cannot be exported: \(reason)"
        case let .wrongModelKind(path, kind, needed):
            return "\(path): holds a \(kind) model; this command needs a \(needed)"
        }
    }
}
