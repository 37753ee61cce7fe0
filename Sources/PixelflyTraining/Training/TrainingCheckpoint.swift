import PixelflyCore
import PixelflyData

/// Saving and restoring the whole training state in one safetensors file.
///
/// Tensors: every parameter under its dotted name, and the AdamW moments under
/// `optimizer.first_moment.<name>` and `optimizer.second_moment.<name>`. Metadata: `step`
/// (completed optimisation steps; the data samplers are replayed to it on resume), `seed`,
/// `configuration` (the training configuration as JSON) and `format`. Written atomically
/// (temporary file + rename), so an interrupted save leaves the previous checkpoint intact.
extension Trainer {
    public static var checkpointFormat: String { "pixelfly-training-1" }

    public func saveCheckpoint(to path: String, seed: UInt64, configurationJSON: String) throws {
        var moments: [CheckpointTensor] = []
        for (index, parameter) in parameters.enumerated() {
            moments.append(try CheckpointTensor(name: "optimizer.first_moment." + parameter.name, matrix: optimizer.firstMoments[index]))
            moments.append(try CheckpointTensor(name: "optimizer.second_moment." + parameter.name, matrix: optimizer.secondMoments[index]))
        }
        try Checkpoint.save(parameters, extraTensors: moments,
                            metadata: ["format": Self.checkpointFormat, "step": String(step), "seed": String(seed),
                                       "configuration": configurationJSON],
                            to: path)
    }

    /// Restores parameters, moments and step from `path`; returns the checkpoint's metadata.
    /// Throws (changing nothing) `CheckpointMismatchError` if a tensor is missing or has the
    /// wrong dtype or shape, `FileError` if the file is damaged or its metadata is not a training
    /// checkpoint's.
    @discardableResult
    public func restoreCheckpoint(from path: String) throws -> [String: String] {
        let checkpoint = try Checkpoint.read(from: path)
        guard checkpoint.metadata["format"] == Self.checkpointFormat,
              let stepText = checkpoint.metadata["step"], let savedStep = Int(stepText), savedStep >= 0 else {
            throw FileError(path, "not a training checkpoint (metadata format \(checkpoint.metadata["format"] ?? "missing"), step \(checkpoint.metadata["step"] ?? "missing"))")
        }
        var first: [Matrix<Scalar>] = []
        var second: [Matrix<Scalar>] = []
        for parameter in parameters {
            for (prefix, target) in [("optimizer.first_moment.", 0), ("optimizer.second_moment.", 1)] {
                // Missing, or another dtype or shape: CheckpointMismatchError naming the tensor.
                let moment = try checkpoint.matrix(named: prefix + parameter.name, rows: parameter.rows, cols: parameter.cols,
                                                   as: Scalar.self, source: path)
                if target == 0 { first.append(moment) } else { second.append(moment) }
            }
        }
        try checkpoint.restore(parameters, source: path)
        try optimizer.restore(step: savedStep, firstMoments: first, secondMoments: second)
        return checkpoint.metadata
    }
}
