@testable import Butterfly
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore
import CVectorKernels
import Testing

/// The fused Pixelfly low-rank term inside the block-sparse kernels, against the Double reference.
extension BlockSparseTests {
    /// The fused rank-r term (Pixelfly's `.sum`) on a layout with an empty block row: the strips
    /// and the uncovered rows both read the packed low-rank factors; y, dx, dU, dV and db against
    /// the Double reference on both backends.
    @Test(arguments: BlockSparseBackend.allCases)
    func lowRankTermCoversEmptyBlockRows(backend: BlockSparseBackend) throws {
        let layout = try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true])
        try checkFusedLowRankTerm(layout, backend: backend, seed: 12)
    }

    /// A LIBXSMM forward (h ends in the folded bias's ones column) followed by an OpenBLAS
    /// backward: the backward uses h's first r columns.
    @Test func backendSwitchBetweenForwardAndBackward() throws {
        let layout = try BlockSparseLayout(rows: 12, cols: 8, blockSize: 4, blocks: [true, false, false, false, true, true])
        try checkFusedLowRankTerm(layout, backend: .libxsmm, seed: 13, backwardBackend: .openBLAS)
    }

    /// The producers h = x·Vᵀ and dh = dy·U run in chunks along their depth
    /// (`ProducerKernels.maximumDepth`): 2100 = 3 × 700 inputs, then 2101 outputs in chunks of
    /// 701, 701 and 699, against the Double reference on both backends.
    @Test(arguments: BlockSparseBackend.allCases, [(8, 2100), (2101, 8)])
    func lowRankProducersSplitAlongTheirDepth(backend: BlockSparseBackend, shape: (rows: Int, cols: Int)) throws {
        #expect(ProducerKernels.chunkStarts(depth: 2100) == [0, 700, 1400])
        #expect(ProducerKernels.chunkStarts(depth: 2101) == [0, 701, 1402])
        #expect(ProducerKernels.chunkStarts(depth: 1024) == [0])
        var rng = SeededRandom(seed: 31)
        let b = shape.rows == 2101 ? 1 : 4
        let (blockRows, blockCols) = (shape.rows / b, shape.cols / b)
        let blocks = (0..<(blockRows * blockCols)).map { _ in rng.uniform(0, 1) < 0.3 }
        let layout = try BlockSparseLayout(rows: shape.rows, cols: shape.cols, blockSize: b, blocks: blocks)
        try checkFusedLowRankTerm(layout, backend: backend, seed: 32)
    }

    /// y, h, dx, dU, dV and db of the fused rank-3 term with a bias on `layout`, against the
    /// Double reference (5 batch rows).
    func checkFusedLowRankTerm(_ layout: BlockSparseLayout, backend: BlockSparseBackend, seed: UInt64,
                               backwardBackend: BlockSparseBackend? = nil) throws {
        var rng = SeededRandom(seed: seed)
        let (rows, cols) = (layout.rows, layout.cols)
        let layer = try BlockSparseLinear<Double>(layout: layout, bias: false, rng: &rng)
        layer.backend = backend
        let (batch, rank) = (5, 3)
        let x = Matrix<Double>(rows: batch, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let dy = Matrix<Double>(rows: batch, cols: rows, initializer: .uniform(low: -1, high: 1), rng: &rng)
        let u = Parameter(name: "u", value: Matrix<Double>(rows: rows, cols: rank, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        let v = Parameter(name: "v", value: Matrix<Double>(rows: rank, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        let bias = Parameter(name: "b", value: Matrix<Double>(rows: 1, cols: rows, initializer: .uniform(low: -1, high: 1), rng: &rng), weightDecay: false)
        var y = Matrix<Double>(rows: 0, cols: 0), h = Matrix<Double>(rows: 0, cols: 0)
        var dx = Matrix<Double>(rows: 0, cols: 0), dh = Matrix<Double>(rows: 0, cols: 0)
        try layer.forward(x, into: &y, bias: bias.value, u: u.value, v: v.value, hidden: &h)
        if let backwardBackend { layer.backend = backwardBackend }
        try layer.backward(input: x, outputGradient: dy, inputGradient: &dx, hidden: h, u: u, v: v, hiddenGradient: &dh, bias: bias)

        let w = layer.denseWeight()
        let hReference = try NaiveReference.gemm(x, .none, v.value, .transposed)
        let dhReference = try NaiveReference.gemm(dy, .none, u.value, .none)
        var yReference = try NaiveReference.gemm(x, .none, w, .transposed)
        let lowRank = try NaiveReference.gemm(hReference, .none, u.value, .transposed)
        var dxReference = try NaiveReference.gemm(dy, .none, w, .none)
        let dxLowRank = try NaiveReference.gemm(dhReference, .none, v.value, .none)
        var dbReference = Matrix<Double>(rows: 1, cols: rows)
        for i in 0..<batch {
            for j in 0..<rows {
                yReference[i, j] += lowRank[i, j] + bias.value[0, j]
                dbReference[0, j] += dy[i, j]
            }
            for j in 0..<cols { dxReference[i, j] += dxLowRank[i, j] }
        }
        #expect(compare(y, yReference).maxAbs < 1e-12)
        // On LIBXSMM the bias rides on the rank-r product: h ends in a column of ones.
        #expect(h.cols == (backend == .libxsmm ? rank + 1 : rank))
        var hLeading = Matrix<Double>(rows: batch, cols: rank)
        for i in 0..<batch {
            for k in 0..<rank { hLeading[i, k] = h[i, k] }
            if h.cols > rank { #expect(h[i, rank] == 1) }
        }
        #expect(compare(hLeading, hReference).maxAbs < 1e-12)
        #expect(compare(dx, dxReference).maxAbs < 1e-12)
        #expect(compare(u.gradient, try NaiveReference.gemm(dy, .transposed, hReference, .none)).maxAbs < 1e-12)
        #expect(compare(v.gradient, try NaiveReference.gemm(dhReference, .transposed, x, .none)).maxAbs < 1e-12)
        #expect(compare(bias.gradient, dbReference).maxAbs < 1e-12)
        // Rows without a kept block: the low-rank term and the bias only.
        for range in layout.uncoveredRows {
            for i in 0..<batch { for j in range { #expect(abs(y[i, j] - lowRank[i, j] - bias.value[0, j]) < 1e-12) } }
        }
    }

    @Test func badShapesThrow() throws {
        var rng = SeededRandom(seed: 1)
        let mask = try FlatButterflyMask(outputFeatures: 64, inputFeatures: 32,
                                         configuration: FlatButterflyConfiguration(butterflySize: 4, factors: 1, blockSize: 8))
        let layer = try BlockSparseLinear<Float>(mask: mask, rng: &rng)
        #expect(throws: ShapeError.self) { try layer(Matrix<Float>(rows: 2, cols: 31)) }
        var dx = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ShapeError.self) {
            try layer.backward(input: Matrix(rows: 2, cols: 32), outputGradient: Matrix(rows: 2, cols: 63), inputGradient: &dx)
        }
        #expect(throws: ShapeError.self) { try layer.assignProjection(of: Matrix(rows: 64, cols: 64)) }
        #expect(throws: ShapeError.self) { try BlockSparseLayout(rows: 30, cols: 32, blockSize: 8, blocks: []) }
        #expect(throws: ShapeError.self) { try BlockSparseLayout(rows: 32, cols: 32, blockSize: 8, blocks: [true]) }
    }
}
