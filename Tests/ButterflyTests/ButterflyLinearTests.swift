import Butterfly
import PixelflyModels
import PixelflyCore
import Testing

/// `ButterflyLinear` as a drop-in linear layer: forward equals x·Wᵀ + b with W its dense
/// weight, backward matches finite differences, square and rectangular (padded / truncated).
@Suite("Butterfly linear")
struct ButterflyLinearTests {
    static let shapes: [(Int, Int)] = [(8, 8), (5, 12), (20, 6), (32, 32)]

    @Test(arguments: shapes)
    func forwardMatchesDenseWeight(inputFeatures: Int, outputFeatures: Int) throws {
        var rng = SeededRandom(seed: 7)
        let layer = try ButterflyLinear<Double>(inputFeatures, outputFeatures, products: [.increasing, .decreasing], rng: &rng)
        let x = TransformCheck.signals(Double.self, batch: 6, scalarsPerRow: inputFeatures, seed: 8)
        let y = try layer(x)
        var reference = try NaiveReference.gemm(x, .none, layer.denseWeight(), .transposed)
        for i in 0..<reference.rows { for j in 0..<outputFeatures { reference[i, j] += layer.bias!.value[0, j] } }
        #expect(try y.maxAbsDifference(reference) < 1e-12)
    }

    @Test(arguments: shapes)
    func backwardMatchesFiniteDifferences(inputFeatures: Int, outputFeatures: Int) throws {
        var rng = SeededRandom(seed: 9)
        let layer = try ButterflyLinear<Double>(inputFeatures, outputFeatures, rng: &rng)
        let x = TransformCheck.signals(Double.self, batch: 5, scalarsPerRow: inputFeatures, seed: 10)
        let result = try gradientCheck(layer, input: x)
        #expect(result.worst < 1e-6, "\(inputFeatures)→\(outputFeatures): \(result)")
    }

    @Test func stepIsAllocationFreeAndShapesAreChecked() throws {
        var rng = SeededRandom(seed: 1)
        let layer = try ButterflyLinear<Float>(48, 64, rng: &rng)
        let x = TransformCheck.signals(Float.self, batch: 16, scalarsPerRow: 48, seed: 2)
        let dy = TransformCheck.signals(Float.self, batch: 16, scalarsPerRow: 64, seed: 3)
        var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
        func step() throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
        }
        try step()
        let count = try countAllocations { try step() }
        #expect(count == 0, "\(count) allocations in a steady-state ButterflyLinear step")
        #expect(throws: ShapeError.self) { try layer.forward(dy, into: &y) }
        #expect(throws: ShapeError.self) { try ButterflyLinear<Float>(0, 4, rng: &rng) }
    }

    /// `--linear butterfly`: the model-level switch builds `ButterflyLinear`s.
    @Test func linearKindButterflyBuildsButterflyLinears() throws {
        #expect(LinearKind.choices.contains("butterfly") && LinearKind.butterfly.description == "butterfly")
        var rng = SeededRandom(seed: 4)
        let make: LinearFactory<Float> = LinearKind.butterfly.factory()
        let layer = try make(24, 96, "blocks.0.mlp.fc1", &rng)
        let butterfly = try #require(layer as? ButterflyLinear<Float>)
        #expect(butterfly.n == 128 && layer.outputFeatures == 96 && layer.parameters.map(\.name) == ["blocks.0.mlp.fc1.twiddles", "blocks.0.mlp.fc1.bias"])
        let y = try layer(TransformCheck.signals(Float.self, batch: 3, scalarsPerRow: 24, seed: 5))
        #expect(y.rows == 3 && y.cols == 96)
    }
}
