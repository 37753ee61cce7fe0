import Butterfly
import PixelflyCore
import Testing

/// Butterfly products allocate nothing once the workspace and output have their sizes.
@Suite("Butterfly allocations", .serialized)
struct ButterflyAllocationTests {
    @Test(arguments: [1, 16])
    func transformsAreAllocationFreeInSteadyState(batch: Int) throws {
        let workspace = ButterflyWorkspace()
        for transform in [try ButterflyTransform<Float>.dft(n: 1024), try ButterflyTransform<Float>.dft(n: 256, algorithm: .decimationInFrequency),
                          try ButterflyTransform<Float>.dct2(n: 512, orthonormal: true), try ButterflyTransform<Float>.hadamard(n: 128)] {
            let x = TransformCheck.signals(Float.self, batch: batch, scalarsPerRow: transform.inputScalarsPerRow, seed: 1)
            var y = Matrix<Float>(rows: 0, cols: 0)
            try transform.apply(x, into: &y, workspace: workspace)
            let count = try countAllocations { try transform.apply(x, into: &y, workspace: workspace) }
            #expect(count == 0, "\(count) allocations applying a transform of length \(transform.n) to \(batch) rows")
        }
    }

    @Test func layerStepIsAllocationFreeInSteadyState() throws {
        var rng = SeededRandom(seed: 2)
        let layer = try ButterflyLayer(ButterflyMatrix<Float>.random(layout: try ButterflyLayout(n: 64, field: .complex), rng: &rng),
                                       inputPermutation: BitReversal.permutation(64))
        let x = TransformCheck.signals(Float.self, batch: 12, scalarsPerRow: 128, seed: 4)
        var y = Matrix<Float>(rows: 0, cols: 0), dx = Matrix<Float>(rows: 0, cols: 0)
        func step() throws {
            try layer.forward(x, into: &y)
            try layer.backward(input: x, outputGradient: x, inputGradient: &dx)
        }
        try step()
        let count = try countAllocations { try step() }
        #expect(count == 0, "\(count) allocations in a steady-state butterfly layer step")
    }
}
