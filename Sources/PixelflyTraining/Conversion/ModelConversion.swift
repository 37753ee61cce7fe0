import Foundation
import PixelflyCore
import PixelflyModels
import PixelflyData

/// One converted linear: its parameter prefix, shape and ‖W − W̃‖_F / ‖W‖_F.
public struct ConvertedLinear: Codable, Sendable, Equatable {
    public var name: String
    public var inputFeatures: Int
    public var outputFeatures: Int
    public var relativeError: Double
}

/// What `convertDenseCheckpoint` did.
public struct ConversionReport: Codable, Sendable {
    /// The converted model's training configuration (stored in the new checkpoint; a
    /// `train --resume` of it must use the same model and linear options).
    public var configuration: TrainingConfiguration
    public var layers: [ConvertedLinear]
    public var denseParameterCount: Int
    public var convertedParameterCount: Int
}

/// Dense-to-sparse conversion of a trained model (Monarch paper, "dense-to-sparse fine-tuning").
///
/// Reads a dense training checkpoint written by `pixelfly-bench train`, rebuilds the dense model
/// from its stored configuration and restores its weights (a missing tensor or wrong shape
/// throws), builds the same model with `blockLinear` in every block (and `tokenMixingLinear` in
/// a Mixer's token mixing, if given), and fills it:
///
/// - parameters with the same name and shape in both models (embeddings, norms, head, and the
///   linears that stay dense) are copied;
/// - every other parameter belongs to a converted linear `X` (the dense model's `X.weight`,
///   `X.bias`), which is set by `assignProjection(of:bias:into:)`.
///
/// The result is a training checkpoint at step 0 with zero AdamW moments, the same seed and the
/// converted configuration, so `train --resume` fine-tunes it with a fresh schedule. Nothing is
/// written here; `writeConvertedCheckpoint` writes atomically.
public func convertDenseCheckpoint(at path: String, blockLinear: LinearKind,
                                   tokenMixingLinear: LinearKind? = nil) throws -> (Checkpoint, ConversionReport) {
    let source = try Checkpoint.read(from: path)
    let format = Trainer<Float>.checkpointFormat
    guard source.metadata["format"] == format else {
        throw ConversionError.notATrainingCheckpoint(path: path, reason: "metadata format is \(source.metadata["format"] ?? "missing"), expected \(format)")
    }
    guard let json = source.metadata["configuration"] else {
        throw ConversionError.notATrainingCheckpoint(path: path, reason: "no configuration metadata")
    }
    let configuration: TrainingConfiguration
    do {
        configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
    } catch {
        throw ConversionError.notATrainingCheckpoint(path: path, reason: "configuration metadata does not decode: \(error)")
    }
    let kinds = blockLinearKinds(configuration.model)
    guard kinds.allSatisfy({ $0 == .dense }) else {
        throw ConversionError.sourceNotDense(path: path, kinds: kinds.map(\.description).joined(separator: ", "))
    }
    let dense = try configuration.model.makeModel(seed: configuration.seed, as: Float.self)
    try source.restore(dense.parameters, source: path)

    var targetModel = configuration.model
    targetModel.setBlockLinear(blockLinear)
    if let tokenMixingLinear { try targetModel.setTokenMixingLinear(tokenMixingLinear) }
    let target = try targetModel.makeModel(seed: configuration.seed, as: Float.self)

    let denseByName = Dictionary(uniqueKeysWithValues: dense.parameters.map { ($0.name, $0) })
    let linearNames = dense.parameters.map(\.name).filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(7)) }
    var owned: [String: [Parameter<Float>]] = [:]
    var order: [String] = []
    for parameter in target.parameters {
        if let match = denseByName[parameter.name], match.value.rows == parameter.value.rows, match.value.cols == parameter.value.cols {
            try parameter.assign(match.value)
            continue
        }
        guard let owner = linearNames.filter({ parameter.name.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }) else {
            throw ConversionError.parameterMismatch("no dense linear owns \(parameter.name) (shape \(parameter.value.rows)×\(parameter.value.cols))")
        }
        if owned[owner] == nil { order.append(owner) }
        owned[owner, default: []].append(parameter)
    }
    var layers: [ConvertedLinear] = []
    var rng = SeededRandom(seed: configuration.seed)
    for name in order {
        let weight = denseByName[name + ".weight"]!.value
        let targets = target.parameters.filter { $0.name.hasPrefix(name + ".") }
        let layer = try standaloneLinear(name, input: weight.cols, output: weight.rows, matching: targets,
                                         kinds: [blockLinear, tokenMixingLinear ?? blockLinear], rng: &rng)
        let error = try assignProjection(of: weight, bias: denseByName[name + ".bias"]?.value, into: layer)
        let values = Dictionary(uniqueKeysWithValues: layer.parameters.map { ($0.name, $0.value) })
        for parameter in targets { try parameter.assign(values[parameter.name]!) }
        layers.append(ConvertedLinear(name: name, inputFeatures: weight.cols, outputFeatures: weight.rows, relativeError: error))
    }

    var converted = configuration
    converted.model = targetModel
    converted.resumePath = nil
    converted.checkpointPath = nil
    var checkpoint = Checkpoint(metadata: [
        "format": format, "step": "0", "seed": String(configuration.seed),
        "configuration": String(decoding: try JSONEncoder().encode(converted), as: UTF8.self),
        "converted_from": path,
    ])
    try checkpoint.append(target.parameters)
    for parameter in target.parameters {
        let zero = Matrix<Float>(rows: parameter.value.rows, cols: parameter.value.cols)
        checkpoint.tensors.append(try CheckpointTensor(name: "optimizer.first_moment." + parameter.name, matrix: zero))
        checkpoint.tensors.append(try CheckpointTensor(name: "optimizer.second_moment." + parameter.name, matrix: zero))
    }
    let report = ConversionReport(configuration: converted, layers: layers,
                                  denseParameterCount: dense.parameterCount, convertedParameterCount: target.parameterCount)
    return (checkpoint, report)
}

/// Converts `input` and writes the result to `output` atomically (temporary file + rename):
/// on any error nothing is written. Refuses to overwrite the input.
@discardableResult
public func writeConvertedCheckpoint(from input: String, to output: String, blockLinear: LinearKind,
                                     tokenMixingLinear: LinearKind? = nil) throws -> ConversionReport {
    func resolved(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
    guard resolved(input) != resolved(output) else { throw ConversionError.outputIsInput(output) }
    let (checkpoint, report) = try convertDenseCheckpoint(at: input, blockLinear: blockLinear, tokenMixingLinear: tokenMixingLinear)
    try checkpoint.write(to: output)
    return report
}

/// The kinds of a model's block linears (both mixing MLPs for a Mixer).
func blockLinearKinds(_ model: ModelConfiguration) -> [LinearKind] {
    switch model {
    case .vit(let c): return [c.linear]
    case .mixer(let c): return [c.tokenMixingLinear, c.channelMixingLinear]
    case .gpt(let c): return [c.linear]
    }
}

/// A fresh linear `name` (in → out) of the first kind whose parameters have exactly the names
/// and shapes of `targets` (the converted model's parameters under `name.`).
private func standaloneLinear(_ name: String, input: Int, output: Int, matching targets: [Parameter<Float>],
                              kinds: [LinearKind], rng: inout SeededRandom) throws -> any LinearLayer<Float> {
    func signature(_ parameters: [Parameter<Float>]) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, [$0.value.rows, $0.value.cols]) })
    }
    let wanted = signature(targets)
    for kind in kinds {
        let factory: LinearFactory<Float> = kind.factory()
        let layer = try factory(input, output, name, &rng)
        if signature(layer.parameters) == wanted { return layer }
    }
    throw ConversionError.parameterMismatch("\(name) (\(input) → \(output)) has parameters \(wanted.keys.sorted()); no \(kinds.map(\.description)) layer has those")
}
