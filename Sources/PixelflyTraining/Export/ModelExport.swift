import Foundation
import PixelflyCore
import PixelflyData

/// A trained model's parameters in PyTorch conventions, as one safetensors file.
///
/// - Linear layers: see `ExportedLayer` (weights (out, in); block-sparse as (n, b, b) blocks
///   plus int64 (block row, block column) coordinates; low-rank as two weights). With `dense`,
///   every linear is its dense-equivalent (out, in) weight.
/// - LayerNorm gains and biases, and linear biases: 1-D. Embeddings, learned positions and the
///   class token keep their (rows, cols) shapes. No optimizer state.
/// - `__metadata__`: `format` (`pixelfly-export-1`), `model` (vit, mixer, gpt), `configuration`
///   (the model configuration as JSON, the same Codable form `train` stores), `layers` (JSON:
///   prefix → `ExportedLayer`), `layer_norm_epsilon`, `activation` (`gelu_tanh`),
///   `dense_equivalent`, `source_step`, `training_configuration`.
///
/// `scripts/reference-forward.py` rebuilds the forward pass from the file alone.
public enum ModelExport {
    public static let format = "pixelfly-export-1"

    /// The export of `trained` (nothing is written).
    public static func checkpoint(of trained: TrainedCheckpoint, dense: Bool = false) throws -> Checkpoint {
        let model = trained.model
        let structure = try ModelStructure(model)
        var owner: [ObjectIdentifier: Int] = [:]
        for (index, linear) in structure.linears.enumerated() {
            for parameter in linear.parameters { owner[ObjectIdentifier(parameter)] = index }
        }
        let normParameters = Set(structure.norms.flatMap { [ObjectIdentifier($0.gain), ObjectIdentifier($0.bias)] })
        var exported = Set<Int>()
        var tensors: [CheckpointTensor] = []
        var layers: [String: ExportedLayer] = [:]
        for parameter in model.parameters {
            let id = ObjectIdentifier(parameter)
            if let index = owner[id] {
                guard exported.insert(index).inserted else { continue }
                let (prefix, layerTensors, entry) = try LinearExport.export(structure.linears[index], dense: dense)
                tensors += layerTensors
                layers[prefix] = entry
            } else if normParameters.contains(id) {
                tensors.append(try CheckpointTensor(name: parameter.name, shape: [parameter.value.count], values: parameter.value.storage))
            } else {
                tensors.append(try CheckpointTensor(name: parameter.name, matrix: parameter.value))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata: [String: String] = [
            "format": format,
            "model": trained.configuration.model.name,
            "configuration": String(decoding: try encoder.encode(trained.configuration.model.innerConfiguration), as: UTF8.self),
            "layers": String(decoding: try encoder.encode(layers), as: UTF8.self),
            "layer_norm_epsilon": "1e-05",
            "activation": "gelu_tanh",
            "dense_equivalent": dense ? "true" : "false",
            "source_step": String(trained.step),
            "training_configuration": trained.checkpoint.metadata["configuration"] ?? "",
        ]
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    /// Reads the training checkpoint at `path` and writes its export to `output` atomically
    /// (temporary file + rename). Throws a `ModelFileError` or `FileError` naming the problem,
    /// and writes nothing, if the checkpoint is damaged, of an unknown model kind or does not
    /// match its configuration. Returns the export.
    @discardableResult
    public static func export(checkpoint path: String, to output: String, dense: Bool = false) throws -> Checkpoint {
        let export = try checkpoint(of: TrainedCheckpoint(path: path), dense: dense)
        try export.write(to: output)
        return export
    }
}

extension ModelConfiguration {
    /// The configuration of the model itself (without the enum wrapper), for JSON.
    var innerConfiguration: any Encodable {
        switch self {
        case .vit(let c): return c
        case .mixer(let c): return c
        case .gpt(let c): return c
        }
    }
}
