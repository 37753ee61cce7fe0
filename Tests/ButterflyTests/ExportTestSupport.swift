import Foundation
import PixelflyData
import PixelflyTraining
import PixelflyCore

/// Trained tiny models written as training checkpoints, for the export, evaluate and generate
/// tests: a few AdamW steps on random data (so no weight is at its initial value).
enum TrainedTinyModel {
    /// Trains `model` for `steps` steps and writes the checkpoint to `path`; returns the trainer.
    @discardableResult
    static func write(_ model: ModelConfiguration, to path: String, steps: Int = 3, seed: UInt64 = 7) throws -> Trainer<Float> {
        let trainer = try Trainer(model: model.makeModel(seed: seed, as: Float.self),
                                  schedule: WarmupCosineSchedule(peak: 1e-2, warmupSteps: 0, totalSteps: 10),
                                  loss: SoftmaxCrossEntropy(), hyperparameters: .init(), clipNorm: 1)
        let (inputs, labels) = batch(for: model, seed: seed &+ 1)
        for _ in 0..<steps { try trainer.step(inputs: inputs, labels: labels) }
        var configuration = TrainingConfiguration(model: model)
        configuration.seed = seed
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try trainer.saveCheckpoint(to: path, seed: seed, configurationJSON: json)
        return trainer
    }

    /// A fixed batch: 4 random images, or 2 sequences of random bytes for the GPT.
    static func batch(for model: ModelConfiguration, seed: UInt64) -> (Matrix<Float>, [Int]) {
        var rng = SeededRandom(seed: seed)
        switch model {
        case .gpt(let c):
            let ids = (0..<(2 * c.context)).map { _ in rng.index(below: c.vocabulary) }
            return (try! Matrix(rows: 2, cols: c.context, storage: ids.map(Float.init)),
                    ids.map { ($0 + 1) % c.vocabulary })
        default:
            return (Matrix(rows: 4, cols: 784, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng), [1, 5, 9, 3])
        }
    }
}

/// `scripts/reference-forward.py`, run with the system's python3.
enum PythonReference {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/reference-forward.py").path

    /// Whether `python3 -c "import numpy"` succeeds.
    static let available: Bool = (try? run(["-c", "import numpy"])) != nil

    /// Runs python3 with `arguments`; throws with its output if it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FileError(script, "python3 exited with status \(process.terminationStatus): \(output)")
        }
        return output
    }

    /// The script's logits for `inputs` under the export at `exportPath`.
    static func logits(export exportPath: String, inputs: Matrix<Float>, directory: TemporaryDirectory) throws -> Matrix<Double> {
        let inputPath = directory.file("inputs.safetensors")
        let outputPath = directory.file("logits.safetensors")
        try Checkpoint(tensors: [CheckpointTensor(name: "inputs", matrix: inputs)]).write(to: inputPath)
        try run([script, exportPath, inputPath, outputPath])
        return try Checkpoint.read(from: outputPath)["logits"]!.matrix(as: Double.self)
    }
}
