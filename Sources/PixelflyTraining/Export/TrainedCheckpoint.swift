import Foundation
import PixelflyCore
import PixelflyModels
import PixelflyData

/// A model restored from a `pixelfly-bench train` checkpoint: its training configuration (from
/// the `configuration` metadata), the model it describes and the parameters from the tensors.
///
/// Only the parameters are read (the AdamW moments are ignored). Every failure is a
/// `ModelFileError` naming the file: not a training checkpoint, an unknown model kind, or
/// tensors that do not fit the configured model (missing, wrong dtype or shape).
public struct TrainedCheckpoint {
    public let path: String
    public let configuration: TrainingConfiguration
    public let model: any TrainableModel<Float>
    /// Completed optimisation steps when the checkpoint was written.
    public let step: Int
    public let checkpoint: Checkpoint

    public init(path: String) throws {
        let checkpoint = try Checkpoint.read(from: path)
        let format = Trainer<Float>.checkpointFormat
        guard checkpoint.metadata["format"] == format else {
            throw ModelFileError.notATrainingCheckpoint(
                path: path, reason: "metadata format is \(checkpoint.metadata["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(format)\"")
        }
        guard let json = checkpoint.metadata["configuration"] else {
            throw ModelFileError.notATrainingCheckpoint(path: path, reason: "no \"configuration\" metadata entry")
        }
        let configuration = try Self.decodeConfiguration(json, path: path)
        let model: any TrainableModel<Float>
        do {
            model = try configuration.model.makeModel(seed: configuration.seed, as: Float.self)
        } catch {
            throw ModelFileError.notATrainingCheckpoint(path: path, reason: "the configured model cannot be built: \(error)")
        }
        do {
            try checkpoint.restore(model.parameters, source: path)
        } catch let error as CheckpointMismatchError {
            throw ModelFileError.mismatchedCheckpoint(path: path, reason: error.message)
        }
        self.path = path
        self.configuration = configuration
        self.model = model
        self.checkpoint = checkpoint
        step = Int(checkpoint.metadata["step"] ?? "") ?? 0
    }

    /// Decodes the training configuration; an unknown model kind gets its own error.
    static func decodeConfiguration(_ json: String, path: String) throws -> TrainingConfiguration {
        let root = try? JSONSerialization.jsonObject(with: Data(json.utf8))
        guard let members = root as? [String: Any] else {
            throw ModelFileError.notATrainingCheckpoint(path: path, reason: "configuration metadata is not a JSON object")
        }
        guard let model = members["model"] as? [String: Any], model.count == 1, let kind = model.keys.first else {
            throw ModelFileError.notATrainingCheckpoint(path: path, reason: "configuration metadata has no \"model\" object with one model kind")
        }
        guard ModelConfiguration.choices.contains(kind) else {
            throw ModelFileError.unknownModelKind(path: path, kind: kind, known: ModelConfiguration.choices)
        }
        do {
            return try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
        } catch {
            throw ModelFileError.notATrainingCheckpoint(path: path, reason: "configuration metadata does not decode: \(error)")
        }
    }
}
