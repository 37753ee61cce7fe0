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
        let matrices = try parameters.map { parameter in
            try matrix(named: prefix + parameter.name, rows: parameter.value.rows, cols: parameter.value.cols,
                       as: S.self, source: source)
        }
        for (parameter, matrix) in zip(parameters, matrices) { try parameter.assign(matrix) }
    }

    /// The tensor `name` as a `rows`×`cols` matrix of `S` (e.g. an optimizer moment); throws,
    /// naming the tensor and `source`, if it is missing or has another dtype or shape.
    public func matrix<S: TensorScalar>(named name: String, rows: Int, cols: Int, as _: S.Type = S.self,
                                        source: String = "checkpoint") throws -> Matrix<S> {
        guard let tensor = self[name] else {
            throw CheckpointMismatchError(source: source, tensor: name, "no tensor named \(JSONValue.quoted(name))")
        }
        guard tensor.dtype == .of(S.self) else {
            throw CheckpointMismatchError(source: source, tensor: name, "tensor \(JSONValue.quoted(name)) holds \(tensor.dtype.rawValue); the model needs \(TensorDType.of(S.self).rawValue)")
        }
        guard tensor.shape == [rows, cols] else {
            throw CheckpointMismatchError(source: source, tensor: name, "tensor \(JSONValue.quoted(name)) has shape \(tensor.shape); the model expects [\(rows), \(cols)]")
        }
        return try tensor.matrix(as: S.self)
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
