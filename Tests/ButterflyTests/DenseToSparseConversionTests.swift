import Butterfly
import Foundation
import LowRank
import PixelflyModels
import PixelflyData
import PixelflyTraining
import PixelflyCore
import Testing

/// `convertDenseCheckpoint` / `writeConvertedCheckpoint`: what the converted weights are, that
/// the result resumes, and that bad inputs throw a named error and write nothing.
@Suite("Dense-to-sparse conversion", .serialized)
struct DenseToSparseConversionTests {
    static let pixelfly = LinearKind.pixelfly(PixelflySettings(mask: .init(butterflySize: 4, factors: 1, blockSize: 2), rank: 2))

    /// A dense tiny model trained for 6 steps, checkpointed in `directory`.
    static func denseCheckpoint(_ model: ModelConfiguration, in directory: TemporaryDirectory) throws -> (String, TrainingConfiguration) {
        var run = TrainingCheckpointTests.tinyRun(model)
        run.checkpointPath = directory.file("dense.safetensors")
        _ = try runTraining(run, log: { _ in })
        return (run.checkpointPath!, run)
    }

    static func relativeDistance(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
        let d = zip(a.storage, b.storage).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let n = a.storage.reduce(0) { $0 + $1 * $1 }
        return (d / n).squareRoot()
    }

    /// Monarch: every block linear holds the projection of its dense weight, everything else
    /// is copied, and the report's errors are the projections' errors.
    @Test func monarchLayersHoldTheProjection() throws {
        let directory = try TemporaryDirectory("convert-monarch")
        defer { directory.remove() }
        let (path, _) = try Self.denseCheckpoint(.mixer(.tiny), in: directory)
        let dense = try Checkpoint.read(from: path)
        let (converted, report) = try convertDenseCheckpoint(at: path, blockLinear: .monarch(nblocks: 4))
        #expect(report.layers.count == 4)
        #expect(report.convertedParameterCount < report.denseParameterCount)
        for layer in report.layers {
            let w: Matrix<Float> = try dense.matrix(named: layer.name + ".weight", rows: layer.outputFeatures, cols: layer.inputFeatures)
            let projection = try projectOntoMonarch(w.converted(to: Double.self), nblocks: 4)
            let shape = projection.shape
            let first: Matrix<Float> = try converted.matrix(named: layer.name + ".blkdiag1", rows: 4, cols: shape.q * shape.p)
            let second: Matrix<Float> = try converted.matrix(named: layer.name + ".blkdiag2", rows: 4, cols: shape.s * shape.q)
            let stored = shape.denseMatrix(first: first.converted(to: Double.self), second: second.converted(to: Double.self))
            let best = shape.denseMatrix(first: projection.first, second: projection.second)
            #expect(Self.relativeDistance(best, stored) < 1e-5, "\(layer.name)")
            #expect(abs(layer.relativeError - projection.relativeError) < 1e-4, "\(layer.name): \(layer.relativeError) vs \(projection.relativeError)")
            #expect(try converted.matrix(named: layer.name + ".bias", rows: 1, cols: layer.outputFeatures, as: Float.self)
                == dense.matrix(named: layer.name + ".bias", rows: 1, cols: layer.outputFeatures, as: Float.self))
        }
        for name in ["patch_embedding.weight", "head.bias", "final_norm.weight"] {
            #expect(converted[name]?.bytes == dense[name]?.bytes, "\(name) is copied")
        }
        #expect(converted.metadata["step"] == "0")
    }

    /// Pixelfly: S = mask ⊙ W and U·V = the best rank-r approximation of W − S.
    @Test func pixelflyLayersHoldMaskedWeightsPlusBestRankResidual() throws {
        let directory = try TemporaryDirectory("convert-pixelfly")
        defer { directory.remove() }
        let (path, _) = try Self.denseCheckpoint(.vit(.tiny), in: directory)
        let dense = try Checkpoint.read(from: path)
        let (converted, report) = try convertDenseCheckpoint(at: path, blockLinear: Self.pixelfly)
        #expect(report.layers.count == 6)
        var rng = SeededRandom(seed: 1)
        for layer in report.layers {
            let w: Matrix<Float> = try dense.matrix(named: layer.name + ".weight", rows: layer.outputFeatures, cols: layer.inputFeatures)
            let make: LinearFactory<Float> = Self.pixelfly.factory()
            let pixelfly = try #require(try make(layer.inputFeatures, layer.outputFeatures, layer.name, &rng) as? PixelflyLinear<Float>)
            try converted.restore(pixelfly.parameters)
            let probe = try BlockSparseLinear<Float>(layout: pixelfly.sparse.layout, bias: false, rng: &rng)
            try probe.assignProjection(of: w)
            #expect(pixelfly.sparse.weight.value == probe.weight.value, "\(layer.name): sparse part is the masked weight")
            let residual = try Matrix(rows: w.rows, cols: w.cols, storage: zip(w.storage, probe.denseWeight().storage).map { Double($0) - Double($1) })
            let best = try bestRankApproximation(residual, rank: 2)
            let error = Self.relativeDistance(w.converted(), pixelfly.denseWeight().converted())
            let wNorm = w.storage.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(error - best.error / wNorm) < 1e-4, "\(layer.name): \(error) vs Eckart–Young \(best.error / wNorm)")
            #expect(abs(layer.relativeError - error) < 1e-4)
        }
    }

    /// With one Monarch block the projection is exact (rank min(in, out) per layer), so the
    /// converted model computes the dense model's function; and it fine-tunes through `--resume`.
    @Test(arguments: [ModelConfiguration.mixer(.tiny), .vit(.tiny), .gpt(.tiny)])
    func exactConversionPreservesTheModelAndResumes(model: ModelConfiguration) throws {
        let directory = try TemporaryDirectory("convert-exact")
        defer { directory.remove() }
        let (path, run) = try Self.denseCheckpoint(model, in: directory)
        let out = directory.file("monarch.safetensors")
        let report = try writeConvertedCheckpoint(from: path, to: out, blockLinear: .monarch(nblocks: 1))
        #expect(report.layers.allSatisfy { $0.relativeError < 1e-5 })
        let denseModel = try run.model.makeModel(seed: 99, as: Float.self)
        try Checkpoint.load(denseModel.parameters, from: path)
        let sparseModel = try report.configuration.model.makeModel(seed: 99, as: Float.self)
        try Checkpoint.load(sparseModel.parameters, from: out)
        var rng = SeededRandom(seed: 3)
        var input = Matrix<Float>(rows: 2, cols: model.isLanguageModel ? 16 : 784, initializer: .uniform(low: 0, high: 1), rng: &rng)
        if model.isLanguageModel { input = input.map { ($0 * 255).rounded(.down) } }
        let expected = try denseModel(input)
        let actual = try sparseModel(input)
        #expect(compare(actual, expected.converted()).maxAbs < 1e-3, "\(model.name): \(compare(actual, expected.converted()))")

        var fineTune = run
        fineTune.model = report.configuration.model
        fineTune.checkpointPath = nil
        fineTune.resumePath = out
        let result = try runTraining(fineTune, log: { _ in })
        #expect(result.startStep == 0 && result.stepLosses.count == 6 && result.stepLosses.allSatisfy(\.isFinite))
    }

    /// Corrupt, foreign, already-sparse or mismatched inputs throw a named error, and the output
    /// path keeps whatever it held.
    @Test func badInputsThrowAndWriteNothing() throws {
        let directory = try TemporaryDirectory("convert-errors")
        defer { directory.remove() }
        let (path, _) = try Self.denseCheckpoint(.mixer(.tiny), in: directory)
        let out = directory.file("out.safetensors")
        let sentinel: [UInt8] = Array("keep me".utf8)
        _ = try directory.write("out.safetensors", sentinel)
        func expectRefused(_ input: String, _ kind: LinearKind = .monarch(nblocks: 2), mentioning: String) {
            let message = thrownMessage { try writeConvertedCheckpoint(from: input, to: out, blockLinear: kind) }
            #expect(message?.contains(mentioning) == true, "\(message ?? "no error")")
            #expect((try? readFileBytes(out)) == sentinel, "the output was touched")
        }
        let bytes = try readFileBytes(path)
        expectRefused(try directory.write("truncated.safetensors", Array(bytes.prefix(bytes.count - 9))), mentioning: "truncated.safetensors")
        var flipped = bytes
        flipped[12] ^= 0x5A
        expectRefused(try directory.write("flipped.safetensors", flipped), mentioning: "flipped.safetensors")
        expectRefused(try directory.write("empty.safetensors", []), mentioning: "empty.safetensors")

        var foreign = Checkpoint(metadata: ["format": "something-else"])
        try foreign.append([Parameter<Float>(name: "w", value: Matrix(rows: 2, cols: 2), weightDecay: true)])
        try foreign.write(to: directory.file("foreign.safetensors"))
        expectRefused(directory.file("foreign.safetensors"), mentioning: "not a training checkpoint")

        let sparse = directory.file("sparse.safetensors")
        try writeConvertedCheckpoint(from: path, to: sparse, blockLinear: .monarch(nblocks: 2))
        expectRefused(sparse, mentioning: "only dense models convert")

        // The configuration says width 16; tensors of a wider model do not fit it.
        var wide = try Checkpoint.read(from: path)
        let widened = try Matrix<Float>(rows: 1, cols: 32, storage: Array(repeating: 1, count: 32))
        wide.tensors = try wide.tensors.map { $0.name == "final_norm.weight" ? try CheckpointTensor(name: $0.name, matrix: widened) : $0 }
        try wide.write(to: directory.file("wide.safetensors"))
        expectRefused(directory.file("wide.safetensors"), mentioning: "final_norm.weight")

        let gated = LinearKind.pixelfly(PixelflySettings(mask: .init(butterflySize: 4, factors: 1, blockSize: 2), rank: 2, combination: .gated))
        expectRefused(path, gated, mentioning: "gated")
        expectRefused(path, .monarch(nblocks: 0), mentioning: "nblocks")
        #expect(thrownMessage { try writeConvertedCheckpoint(from: path, to: path, blockLinear: .monarch(nblocks: 2)) }?.contains("is the input") == true)
        #expect(try readFileBytes(path) == bytes)
    }
}
