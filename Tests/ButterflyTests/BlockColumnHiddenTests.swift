@testable import Butterfly
import PixelflyCore
import PixelflyModels
import Testing

/// An MLP's hidden activation gelu(h) copied into block-column order (`BlockColumnOrder`): fc1's
/// GELU epilogue makes the copy, fc2's weight gradient and dV read it instead of copying x
/// themselves. Checked against the same layers without the copy (the fused path, itself checked
/// against Double references and finite differences), with batch tails, two weight-gradient
/// chunks, 1 and 2 threads, with and without the bias. The layers here are small, so their rows are not
/// 4 KB apart; the tests make fc2 copy x for its weight gradient (`packsWeightGradientInput`),
/// the condition under which it offers the order.
@Suite("Block-column hidden activations")
struct BlockColumnHiddenTests {
    static let configuration = FlatButterflyConfiguration(butterflySize: 4, factors: 2, blockSize: 12)

    @Test func orderIndexesAndRoundTrips() throws {
        let order = BlockColumnOrder(blockWidth: 3)
        var rng = SeededRandom(seed: 5_001)
        let m = Matrix<Float>(rows: 5, cols: 6, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let arranged = order.arranged(m)
        // Block column 1 (columns 3..<6) starts after the 5 × 3 elements of block column 0.
        #expect(order.index(row: 2, col: 4, rows: 5) == 15 + 2 * 3 + 1)
        #expect(arranged.storage[order.index(row: 2, col: 4, rows: 5)] == m[2, 4])
        #expect(order.rowMajor(arranged).storage == m.storage)
        #expect(order.fits(cols: 6) && !order.fits(cols: 7))
    }

    static func layer(_ input: Int, _ output: Int, bias: Bool, rng: inout SeededRandom) throws -> PixelflyLinear<Float> {
        let layer = try PixelflyLinear<Float>(input, output, mask: configuration, rank: 5, bias: bias, rng: &rng)
        layer.sparse.backend = .libxsmm
        layer.sparse.packsWeightGradientInput = true
        return layer
    }

    /// fc2's backward reading x's block-column copy against the same backward copying x itself:
    /// dx and every parameter gradient.
    @Test(arguments: [1, 2])
    func pixelflyReadsBlockColumns(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        var rng = SeededRandom(seed: 5_002)
        for (input, output) in [(96, 48), (192, 48)] {
            for bias in [true, false] {
                for batch in [1, 37, 300] {
                    let label = "\(input)→\(output), bias \(bias), batch \(batch), \(threads) threads"
                    let layer = try Self.layer(input, output, bias: bias, rng: &rng)
                    let order = try #require(layer.blockColumnInput(batch: batch), "\(label): offers the order")
                    #expect(order.blockWidth == 12)
                    let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -1, high: 1), rng: &rng)
                    let derivative = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: 0, high: 1), rng: &rng)
                    let dy = Matrix<Float>(rows: batch, cols: output, initializer: .uniform(low: -1, high: 1), rng: &rng)
                    let copy = order.arranged(x)
                    func run(_ blockColumns: Bool) throws -> [Matrix<Float>] {
                        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
                        try layer.forward(x, into: &y)
                        layer.zeroGradients()
                        if blockColumns {
                            try layer.backward(input: x, blockColumnCopy: copy, order: order, outputGradient: dy,
                                               geluDerivative: derivative, inputGradient: &dx)
                        } else {
                            try layer.backward(input: x, outputGradient: dy, geluDerivative: derivative, inputGradient: &dx)
                        }
                        return [dx] + layer.parameters.map(\.gradient)
                    }
                    let (rowMajor, blocked) = (try run(false), try run(true))
                    for (index, (a, b)) in zip(blocked, rowMajor).enumerated() {
                        #expect(a.storage == b.storage, "\(label): result \(index) (dx, then the parameter gradients), bit for bit")
                    }
                }
            }
        }
    }

    /// fc1 copying gelu(h) into block-column order: the same gelu(h) and gelu′(h) as without the
    /// copy, bit for bit, and the copy is gelu(h) rearranged.
    @Test(arguments: [1, 2])
    func pixelflyWritesBlockColumns(threads: Int) throws {
        defer { try? TestThreadCount.set(ComputeThreads.defaultCount) }
        try TestThreadCount.set(threads)
        var rng = SeededRandom(seed: 5_003)
        for (input, output) in [(48, 96), (48, 192)] {
            for batch in [1, 37, 300] {
                let layer = try Self.layer(input, output, bias: true, rng: &rng)
                let order = BlockColumnOrder(blockWidth: 12)
                let x = Matrix<Float>(rows: batch, cols: input, initializer: .uniform(low: -2, high: 2), rng: &rng)
                let (plain, copied) = try TestThreadCount.stable {
                    var (d1, a1) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
                    var (d2, a2, c2) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
                    try layer.forward(x, geluDerivative: &d1, gelu: &a1)
                    try layer.forward(x, geluDerivative: &d2, gelu: &a2, blockColumnCopy: &c2, order: order)
                    return ((d1, a1), (d2, a2, c2))
                }
                let label = "\(input)→\(output), batch \(batch)"
                #expect(copied.0.storage == plain.0.storage, "\(label): gelu′(h)")
                #expect(copied.1.storage == plain.1.storage, "\(label): gelu(h)")
                #expect(copied.2.storage == order.arranged(plain.1).storage, "\(label): the copy")
            }
        }
    }

    static func mlp(seed: UInt64) throws -> MLPBlock<Float> {
        let factory: LinearFactory<Float> = { input, output, name, rng in
            try PixelflyLinear<Float>(input, output, mask: configuration, rank: 6, name: name, rng: &rng)
        }
        var rng = SeededRandom(seed: seed)
        let mlp = try MLPBlock<Float>(features: 48, hiddenFeatures: 192, linear: factory, rng: &rng)
        for layer in [mlp.fc1, mlp.fc2].map({ $0 as! PixelflyLinear<Float> }) {
            layer.sparse.backend = .libxsmm
            layer.sparse.packsWeightGradientInput = true
        }
        return mlp
    }

    /// An MLP whose fc2 offers the order takes the block-column path; output, input gradient and
    /// every parameter gradient agree with the separate-GELU path on OpenBLAS, over two steps.
    @Test func mlpBlockThroughBlockColumnsEqualsUnfused() throws {
        var data = SeededRandom(seed: 5_004)
        let x = Matrix<Float>(rows: 300, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        let dy = Matrix<Float>(rows: 300, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        func steps(_ backend: BlockSparseBackend) throws -> [Matrix<Float>] {
            let mlp = try Self.mlp(seed: 5_005)
            let fc2 = mlp.fc2 as! PixelflyLinear<Float>
            for layer in [mlp.fc1, mlp.fc2].map({ $0 as! PixelflyLinear<Float> }) { layer.sparse.backend = backend }
            #expect((fc2.blockColumnInput(batch: 300) != nil) == (backend == .libxsmm))
            var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            for _ in 0..<2 {
                try mlp.forward(x, into: &y)
                mlp.zeroGradients()
                try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
            }
            return [y, dx] + mlp.parameters.map(\.gradient)
        }
        let (blocked, separate) = (try steps(.libxsmm), try steps(.openBLAS))
        for (index, (a, b)) in zip(blocked, separate).enumerated() {
            #expect(compare(a, b.converted(to: Double.self)).maxRel < 1e-5, "result \(index) (y, dx, then the parameter gradients)")
        }
    }

    /// fc2 moved to OpenBLAS between the forward (which made the copy) and the backward: the MLP
    /// leaves the copy and gives the gradients of a run without the change.
    @Test func mlpBlockBackwardAfterABackendChange() throws {
        var data = SeededRandom(seed: 5_006)
        let x = Matrix<Float>(rows: 40, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        let dy = Matrix<Float>(rows: 40, cols: 48, initializer: .normal(mean: 0, standardDeviation: 1), rng: &data)
        func gradients(changes: Bool) throws -> [Matrix<Float>] {
            let mlp = try Self.mlp(seed: 5_007)
            let fc2 = mlp.fc2 as! PixelflyLinear<Float>
            if !changes { fc2.sparse.backend = .openBLAS }
            var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
            try mlp.forward(x, into: &y)
            fc2.sparse.backend = .openBLAS
            try mlp.backward(input: x, outputGradient: dy, inputGradient: &dx)
            return [y, dx] + mlp.parameters.map(\.gradient)
        }
        for (index, (a, b)) in zip(try gradients(changes: true), try gradients(changes: false)).enumerated() {
            #expect(compare(a, b.converted(to: Double.self)).maxRel < 1e-5, "result \(index) (y, dx, then the parameter gradients)")
        }
    }

    /// Where the layer reads x only, or the copy or its order does not fit, the calls throw.
    @Test func refusesWhatItCannotRead() throws {
        var rng = SeededRandom(seed: 5_008)
        let x = Matrix<Float>(rows: 8, cols: 96, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let (derivative, dy) = (x, Matrix<Float>(rows: 8, cols: 48, initializer: .uniform(low: -1, high: 1), rng: &rng))
        var (y, a, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        let order = BlockColumnOrder(blockWidth: 12)
        let layer = try Self.layer(96, 48, bias: true, rng: &rng)
        try layer.forward(x, into: &y)
        #expect(throws: ConfigurationError.self) {
            try layer.backward(input: x, blockColumnCopy: x, order: BlockColumnOrder(blockWidth: 24), outputGradient: dy,
                               geluDerivative: derivative, inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) {
            try layer.backward(input: x, blockColumnCopy: Matrix(rows: 8, cols: 48), order: order, outputGradient: dy,
                               geluDerivative: derivative, inputGradient: &dx)
        }
        layer.sparse.packsWeightGradientInput = false
        #expect(layer.blockColumnInput(batch: 8) == nil)
        #expect(throws: ConfigurationError.self) {
            try layer.backward(input: x, blockColumnCopy: x, order: order, outputGradient: dy, geluDerivative: derivative,
                               inputGradient: &dx)
        }
        layer.sparse.backend = .openBLAS
        try layer.forward(x, into: &y)
        #expect(throws: ConfigurationError.self) {
            try layer.sparse.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: Matrix(rows: 8, cols: 5),
                                      u: layer.lowRank.u, v: layer.lowRank.v, hiddenGradient: &a, bias: layer.bias, blockColumnCopy: x)
        }
        let fc1 = try Self.layer(96, 48, bias: true, rng: &rng)
        var copy = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try fc1.forward(x, geluDerivative: &y, gelu: &a, blockColumnCopy: &copy, order: BlockColumnOrder(blockWidth: 36))
        }
    }
}
