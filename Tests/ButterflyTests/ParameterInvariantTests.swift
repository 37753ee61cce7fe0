import Butterfly
import PixelflyCore
import Testing

/// A `Parameter` keeps the shape it was created with: every write of another shape throws and
/// leaves a correctly shaped tensor behind, so the layers' raw-pointer kernels stay in bounds.
@Suite("Parameter: shape invariant")
struct ParameterInvariantTests {
    @Test func assignRefusesAnotherShapeAndKeepsTheValue() throws {
        let p = Parameter(name: "w", value: try Matrix<Float>([[1, 2, 3], [4, 5, 6]]), weightDecay: true)
        #expect(throws: ShapeError.self) { try p.assign(Matrix(rows: 3, cols: 2)) }
        #expect(throws: ShapeError.self) { try p.assign(Matrix(rows: 1, cols: 6)) }
        #expect(p.value == (try Matrix<Float>([[1, 2, 3], [4, 5, 6]])))
        #expect(throws: ShapeError.self) { try p.assignGradient(Matrix(rows: 2, cols: 2)) }
        #expect(p.gradient == Matrix(rows: 2, cols: 3))
        try p.assign(try Matrix([[6, 5, 4], [3, 2, 1]]))
        #expect(p.value[1, 0] == 3)
    }

    @Test func updateThatChangesTheShapeThrowsAndRestoresIt() throws {
        let p = Parameter(name: "w", value: Matrix<Float>(rows: 2, cols: 3, repeating: 1), weightDecay: false)
        #expect(throws: ShapeError.self) { try p.updateValue { $0.reshape(rows: 1, cols: 100) } }
        #expect(p.value.rows == 2 && p.value.cols == 3)
        #expect(throws: ShapeError.self) { try p.updateGradient { $0 = Matrix(rows: 0, cols: 0) } }
        #expect(p.gradient.rows == 2 && p.gradient.cols == 3)
        // A shape-preserving update goes through.
        try p.updateValue { $0[0, 0] = 7 }
        p.withMutableGradientElements { $0[5] = 2 }
        #expect(p.value[0, 0] == 7 && p.gradient[1, 2] == 2)
    }

    /// After refused writes, a block-sparse layer (whose kernels index `weight.value` with raw
    /// pointers) still computes x·Wᵀ with its own weights.
    @Test func kernelsSeeOnlyTheInvariantShape() throws {
        var rng = SeededRandom(seed: 3)
        let layer = try BlockSparseLinear<Float>(32, 32, mask: .init(butterflySize: 4, factors: 2, blockSize: 8), rng: &rng)
        let x = Matrix<Float>(rows: 4, cols: 32, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let before = try layer(x)
        #expect(throws: ShapeError.self) { try layer.weight.assign(Matrix(rows: 1, cols: 1)) }
        #expect(throws: ShapeError.self) { try layer.weight.updateValue { $0.reshape(rows: 1, cols: 1) } }
        #expect(layer.weight.value.count == layer.weight.count)
        // The failed update zeroed the weight: the output is the bias alone, every row.
        let after = try layer(x)
        let bias = layer.bias!.value
        #expect((0..<4).allSatisfy { i in (0..<32).allSatisfy { after[i, $0] == bias[0, $0] } })
        #expect(before != after)
    }
}
