import PixelflyCore

extension Checkpoint {
    /// Appends each parameter's value as a tensor named `prefix + parameter.name`, shape
    /// `[rows, cols]`.
    public mutating func append<S: TensorScalar>(_ parameters: [Parameter<S>], prefix: String = "") throws {
        for parameter in parameters {
            tensors.append(try CheckpointTensor(name: prefix + parameter.name, matrix: parameter.value))
        }
    }

    /// Copies the tensors named `prefix + parameter.name` into the parameters' values.
    ///
    /// Every parameter is checked first — the tensor exists, has `S`'s dtype and the
    /// parameter's `[rows, cols]` shape — so a mismatch throws (naming the tensor and `source`,
    /// e.g. the checkpoint path) and leaves all parameters unchanged. Tensors with other names
    /// (optimizer state, …) are ignored.
    public func restore<S: TensorScalar>(_ parameters: [Parameter<S>], prefix: String = "",
                                         source: String = "checkpoint") throws {
        var matrices: [Matrix<S>] = []
        for parameter in parameters {
            let name = prefix + parameter.name
            guard let tensor = self[name] else {
                throw FileError(source, "no tensor named \(JSONValue.quoted(name)) for the model's parameter")
            }
            guard tensor.dtype == .of(S.self) else {
                throw FileError(source, "tensor \(JSONValue.quoted(name)) holds \(tensor.dtype.rawValue); the model needs \(TensorDType.of(S.self).rawValue)")
            }
            guard tensor.shape == [parameter.value.rows, parameter.value.cols] else {
                throw FileError(source, "tensor \(JSONValue.quoted(name)) has shape \(tensor.shape); the model's parameter has [\(parameter.value.rows), \(parameter.value.cols)]")
            }
            matrices.append(try tensor.matrix(as: S.self))
        }
        for (parameter, matrix) in zip(parameters, matrices) { parameter.value = matrix }
    }

    /// Writes `parameters` (plus `extraTensors`, e.g. optimizer moments) and `metadata` to
    /// `path` atomically.
    public static func save<S: TensorScalar>(_ parameters: [Parameter<S>], extraTensors: [CheckpointTensor] = [],
                                             metadata: [String: String] = [:], to path: String) throws {
        var checkpoint = Checkpoint(metadata: metadata)
        try checkpoint.append(parameters)
        checkpoint.tensors += extraTensors
        try checkpoint.write(to: path)
    }

    /// Reads the checkpoint at `path` and restores `parameters` from it; returns the checkpoint
    /// (for its metadata and extra tensors).
    @discardableResult
    public static func load<S: TensorScalar>(_ parameters: [Parameter<S>], from path: String) throws -> Checkpoint {
        let checkpoint = try read(from: path)
        try checkpoint.restore(parameters, source: path)
        return checkpoint
    }
}
