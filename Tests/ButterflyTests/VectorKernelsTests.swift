import PixelflyModels
import PixelflyCore
import CVectorKernels
import Testing

/// The Float GELU and LayerNorm run in C (`CVectorKernels`: an AVX-512F body for GELU, an
/// AVX2+FMA body, a portable one; the fastest the CPU has) and over `ComputeThreads`; the
/// Double ones run the generic Swift loops that `BlocksTests` checks by finite differences.
/// Here the Float forward and backward are compared with the Double ones on the same inputs,
/// at sizes with and without vector tails and split over threads; the tests below run each
/// GELU body explicitly.
@Suite("CVectorKernels against the Double paths")
struct VectorKernelsTests {
    /// (rows, features): 24 and 64 take the eight-lane body, 13 the portable one; the large
    /// cases are split over threads (and, for LayerNorm backward, summed from per-range slots).
    static let shapes = [(5, 24), (7, 13), (1500, 24), (600, 64), (3000, 13)]

    @Test(arguments: shapes)
    func geluForwardAndBackward(rows: Int, features: Int) throws {
        var rng = SeededRandom(seed: UInt64(rows + features))
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng)
        let dy = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        let (single, double) = (GELU<Float>(), GELU<Double>())
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        var (yRef, dxRef) = (Matrix<Double>(rows: 0, cols: 0), Matrix<Double>(rows: 0, cols: 0))
        try single.forward(x, into: &y)
        try single.backward(input: x, outputGradient: dy, inputGradient: &dx)
        // One converted input for both passes: a cached-activation layer checks that its backward
        // gets the very input of its forward (see ForwardInputRecord), not an equal copy.
        let xDouble: Matrix<Double> = x.converted()
        try double.forward(xDouble, into: &yRef)
        try double.backward(input: xDouble, outputGradient: dy.converted(), inputGradient: &dxRef)
        let forward = compare(y, yRef), backward = compare(dx, dxRef)
        #expect(forward.maxRel < 1e-5, "forward: \(forward)")
        #expect(backward.maxRel < 1e-5, "backward: \(backward)")
    }

    @Test(arguments: shapes)
    func layerNormForwardAndBackward(rows: Int, features: Int) throws {
        var rng = SeededRandom(seed: UInt64(3 * rows + features))
        let single = try LayerNorm<Float>(features: features), double = try LayerNorm<Double>(features: features)
        try single.gain.assign(Matrix(rows: 1, cols: features, initializer: .normal(mean: 1, standardDeviation: 0.5), rng: &rng))
        try single.bias.assign(Matrix(rows: 1, cols: features, initializer: .normal(mean: 0, standardDeviation: 0.5), rng: &rng))
        try double.gain.assign(single.gain.value.converted())
        try double.bias.assign(single.bias.value.converted())
        let x = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 2, standardDeviation: 1.5), rng: &rng)
        let dy = Matrix<Float>(rows: rows, cols: features, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
        var (y, dx) = (Matrix<Float>(rows: 0, cols: 0), Matrix<Float>(rows: 0, cols: 0))
        var (yRef, dxRef) = (Matrix<Double>(rows: 0, cols: 0), Matrix<Double>(rows: 0, cols: 0))
        try single.forward(x, into: &y)
        try single.backward(input: x, outputGradient: dy, inputGradient: &dx)
        // One converted input for both passes: a cached-activation layer checks that its backward
        // gets the very input of its forward (see ForwardInputRecord), not an equal copy.
        let xDouble: Matrix<Double> = x.converted()
        try double.forward(xDouble, into: &yRef)
        try double.backward(input: xDouble, outputGradient: dy.converted(), inputGradient: &dxRef)
        #expect(compare(y, yRef).maxAbs < 1e-4, "forward: \(compare(y, yRef))")
        #expect(compare(dx, dxRef).maxAbs < 1e-4, "input gradient: \(compare(dx, dxRef))")
        // Parameter gradients sum over all rows: compare relative to their size.
        for (a, b) in zip(single.parameters, double.parameters) {
            let error = compare(a.gradient, b.gradient)
            #expect(error.maxRel < 1e-4, "\(a.name): \(error)")
        }
    }
}

/// Each GELU body of `CVectorKernels` run explicitly (the dispatching entry points take only
/// the fastest one this CPU has), against the Double kernel on the same inputs. Counts cover
/// the 16- and 8-lane bodies' tails (count mod 16 and mod 8 from 0 to 15); the inputs include
/// 0, the saturated gate (exponent −2u > 88, x ≲ −10.4) and large |x|. The element after the
/// last is a sentinel that no body may write (the AVX-512 tail is a masked store).
extension VectorKernelsTests {
    static let bodyCounts = [1, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 1000, 1023, 3072]

    static var avx512Unavailable: Bool { pixelfly_body_available(Int32(PIXELFLY_BODY_AVX512)) == 0 }
    static var avx2Unavailable: Bool { pixelfly_body_available(Int32(PIXELFLY_BODY_AVX2)) == 0 }

    @Test(.disabled(if: avx512Unavailable, "this CPU does not report AVX-512F with OS-enabled ZMM state (__builtin_cpu_supports(\"avx512f\")), so the AVX-512 body cannot run"),
          arguments: bodyCounts)
    func geluAVX512Body(count: Int) throws { try checkGELUBody(Int32(PIXELFLY_BODY_AVX512), count: count) }

    @Test(.disabled(if: avx2Unavailable, "this CPU does not report AVX2 and FMA, so the AVX2 body cannot run"),
          arguments: bodyCounts)
    func geluAVX2Body(count: Int) throws { try checkGELUBody(Int32(PIXELFLY_BODY_AVX2), count: count) }

    @Test(arguments: bodyCounts)
    func geluPortableBody(count: Int) throws { try checkGELUBody(Int32(PIXELFLY_BODY_PORTABLE), count: count) }

    func checkGELUBody(_ body: Int32, count: Int) throws {
        var rng = SeededRandom(seed: UInt64(count) &* 7 &+ UInt64(body))
        let specials: [Float] = [0, 1e-3, -1e-3, 1, -1, 5, -5, -9.9, -10.5, -11, -12, 20, -20, 100, -100]
        var x = Matrix<Float>(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage
        for (i, v) in specials.prefix(count).enumerated() { x[count - 1 - i] = v } // specials sit in the tail
        let dy = Matrix<Float>(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng).storage
        let sentinel: Float = 12345
        var y = [Float](repeating: sentinel, count: count + 1), dx = y
        pixelfly_gelu_forward_f32_body(body, x, &y, count)
        pixelfly_gelu_backward_f32_body(body, x, dy, &dx, count)
        #expect(y[count] == sentinel && dx[count] == sentinel, "body \(body) wrote past the end")
        let xd = x.map(Double.init), dyd = dy.map(Double.init)
        var (yRef, dxRef) = ([Double](repeating: 0, count: count), [Double](repeating: 0, count: count))
        BlockKernels.geluForward(xd, &yRef, count: count)
        BlockKernels.geluBackward(xd, dyd, &dxRef, count: count)
        let forward = compare(try Matrix(rows: 1, cols: count, storage: Array(y.prefix(count))), try Matrix(rows: 1, cols: count, storage: yRef))
        let backward = compare(try Matrix(rows: 1, cols: count, storage: Array(dx.prefix(count))), try Matrix(rows: 1, cols: count, storage: dxRef))
        #expect(forward.maxRel < 1e-5, "body \(body) forward: \(forward)")
        #expect(backward.maxRel < 1e-5, "body \(body) backward: \(backward)")
        // Element-wise too: each output within 1e-5 of max(|reference|, 1).
        for i in 0..<count {
            #expect(abs(Double(y[i]) - yRef[i]) <= 1e-5 * max(abs(yRef[i]), 1), "body \(body) y[\(i)], x = \(x[i])")
            #expect(abs(Double(dx[i]) - dxRef[i]) <= 1e-5 * max(abs(dxRef[i]), 1), "body \(body) dx[\(i)], x = \(x[i])")
        }
    }
}

/// The strided-rows GELU (`pixelfly_gelu_*_rows_f32_body`, the block-sparse epilogue's) against
/// the contiguous body run row by row, bit for bit, through each body (one the CPU lacks runs the
/// portable one on both sides): 5 rows of 37
/// elements 53 apart (a tail in every row, gaps between the rows), and in place for the
/// backward as the epilogue runs it. Nothing between or after the rows may be written.
extension VectorKernelsTests {
    @Test(arguments: [PIXELFLY_BODY_PORTABLE, PIXELFLY_BODY_AVX2, PIXELFLY_BODY_AVX512].map(Int32.init))
    func geluRowsMatchTheContiguousBody(body: Int32) throws {
        let (rows, count, stride) = (5, 37, 53)
        let total = (rows - 1) * stride + count
        var rng = SeededRandom(seed: 29 &+ UInt64(body))
        let x = Matrix<Float>(rows: 1, cols: total, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage
        let dy = Matrix<Float>(rows: 1, cols: total, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng).storage
        let sentinel: Float = 12345
        var (y, dx) = ([Float](repeating: sentinel, count: total + 1), dy + [sentinel])
        pixelfly_gelu_forward_rows_f32_body(body, x, &y, rows, count, stride)
        dx.withUnsafeMutableBufferPointer { p in
            pixelfly_gelu_backward_rows_f32_body(body, x, p.baseAddress!, p.baseAddress!, rows, count, stride)
        }
        for r in 0..<rows {
            let range = (r * stride)..<(r * stride + count)
            var (yRow, dxRow) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
            pixelfly_gelu_forward_f32_body(body, Array(x[range]), &yRow, count)
            pixelfly_gelu_backward_f32_body(body, Array(x[range]), Array(dy[range]), &dxRow, count)
            #expect(Array(y[range]) == yRow, "body \(body) forward row \(r)")
            #expect(Array(dx[range]) == dxRow, "body \(body) backward row \(r)")
        }
        let outside = (0...total).filter { i in i >= total || i % stride >= count }
        #expect(outside.allSatisfy { y[$0] == sentinel }, "body \(body) forward wrote outside its rows")
        #expect(outside.allSatisfy { dx[$0] == ($0 < total ? dy[$0] : sentinel) }, "body \(body) backward wrote outside its rows")
    }
}

/// `pixelfly_column_sums_f32/f64` (the block-sparse bias gradient over a transposed dy chunk)
/// against a Double sum: row counts with and without the 32- and 8-row tails (1 and 7 rows take
/// the portable f32 body, the rest the AVX2 one where the CPU has it), a leading dimension
/// larger than the rows (the padding rows must not be summed), and sums added to what `out`
/// already holds.
extension VectorKernelsTests {
    @Test(arguments: [(1, 1), (7, 3), (8, 5), (31, 2), (32, 4), (44, 48), (256, 96), (257, 3)])
    func columnSumsMatchDoubleSums(rows: Int, cols: Int) throws {
        var rng = SeededRandom(seed: UInt64(rows * 1000 + cols))
        let lda = rows + 5
        let a = Matrix<Float>(rows: cols, cols: lda, initializer: .uniform(low: -1, high: 1), rng: &rng).storage
        let start = Matrix<Float>(rows: 1, cols: cols, initializer: .uniform(low: -1, high: 1), rng: &rng).storage
        var single = start, double = start.map(Double.init)
        pixelfly_column_sums_f32(a, rows, cols, lda, &single)
        pixelfly_column_sums_f64(a.map(Double.init), rows, cols, lda, &double)
        for j in 0..<cols {
            let reference = Double(start[j]) + (0..<rows).reduce(0.0) { $0 + Double(a[j * lda + $1]) }
            #expect(abs(Double(single[j]) - reference) <= 1e-5 * Double(rows), "f32 column \(j)")
            #expect(abs(double[j] - reference) <= 1e-12, "f64 column \(j)")
        }
    }
}

/// `pixelfly_add_bias_rows_f32/f64` (the LIBXSMM forward's bias over a strip group's tile
/// output), through every f32 body and the dispatching entry point: every row piece gets bias[j]
/// added to what it holds, exactly as a Double sum rounded once; the elements between the pieces
/// (stride > count) and after the last are left alone. The counts cover the 16- and 8-lane
/// bodies' tails (count mod 16 of 0, 1, 7, 8 and 15) and pieces shorter than one vector.
extension VectorKernelsTests {
    static let biasBodies: [Int32?] = [nil] + [PIXELFLY_BODY_PORTABLE, PIXELFLY_BODY_AVX2, PIXELFLY_BODY_AVX512].map(Int32.init)

    @Test(arguments: biasBodies, [(1, 1), (3, 7), (5, 48), (2, 17), (4, 31), (3, 40), (64, 200)])
    func biasRowsAddTheBiasToEveryPiece(body: Int32?, shape: (rows: Int, count: Int)) throws {
        let (rows, count) = shape
        var rng = SeededRandom(seed: UInt64(rows * 1000 + count))
        let stride = count + 9
        let total = (rows - 1) * stride + count
        let start = Matrix<Float>(rows: 1, cols: total + stride, initializer: .uniform(low: -1, high: 1), rng: &rng).storage
        let bias = Matrix<Float>(rows: 1, cols: count, initializer: .uniform(low: -1, high: 1), rng: &rng).storage
        var single = start, double = start.map(Double.init)
        if let body {
            pixelfly_add_bias_rows_f32_body(body, &single, bias, rows, count, stride)
        } else {
            pixelfly_add_bias_rows_f32(&single, bias, rows, count, stride)
        }
        pixelfly_add_bias_rows_f64(&double, bias.map(Double.init), rows, count, stride)
        for i in start.indices {
            let (row, j) = i.quotientAndRemainder(dividingBy: stride)
            let inPiece = row < rows && j < count
            let expected = Double(start[i]) + (inPiece ? Double(bias[j]) : 0)
            #expect(single[i] == Float(expected), "f32 element \(i) (row \(row), column \(j)), body \(body.map(String.init) ?? "fastest")")
            #expect(double[i] == expected, "f64 element \(i) (row \(row), column \(j))")
        }
    }
}

/// `pixelfly_fma_chains_f32` (the bench's FMA-peak probe) computes what it claims: after n
/// rounds every lane equals the Float recurrence a ← fma(a, m, c) from its start, bit for bit
/// (a fused multiply-add rounds once, in C as in Swift's `addingProduct`). Widths the CPU lacks
/// return 0 and leave `out` alone; other widths are refused.
extension VectorKernelsTests {
    @Test(arguments: [8, 16])
    func fmaChainsFollowTheRecurrence(lanes: Int) throws {
        let count = Int(PIXELFLY_FMA_CHAINS) * lanes
        let start = (0..<count).map { Float($0 % 11) * 0.37 - 1.5 }
        let (multiplier, addend): (Float, Float) = (0.9993, 0.0021)
        var out = [Float](repeating: .nan, count: count)
        let rounds = 1000
        let ran = pixelfly_fma_chains_f32(Int32(lanes), rounds, start, multiplier, addend, &out)
        let available = lanes == 8 ? pixelfly_vector_kernels_use_avx2() == 1
            : pixelfly_body_available(Int32(PIXELFLY_BODY_AVX512)) == 1
        #expect(ran == (available ? 1 : 0))
        guard available else {
            let untouched = out.allSatisfy { $0.isNaN }
            #expect(untouched, "an unavailable width wrote to out")
            return
        }
        for i in 0..<count {
            var a = start[i]
            for _ in 0..<rounds { a = addend.addingProduct(a, multiplier) }
            #expect(out[i] == a, "lane \(i): \(out[i]) vs \(a)")
        }
    }

    @Test func fmaChainsRefuseOtherWidths() {
        let start = [Float](repeating: 1, count: 4 * Int(PIXELFLY_FMA_CHAINS))
        var out = [Float](repeating: .nan, count: start.count)
        #expect(pixelfly_fma_chains_f32(4, 10, start, 1, 0, &out) == 0)
        let untouched = out.allSatisfy { $0.isNaN }
        #expect(untouched)
    }
}

/// The forward that keeps GELU's derivative and the scale that uses it
/// (`pixelfly_gelu_forward_derivative_rows_f32_body`, `pixelfly_scale_rows_f32_body`: an MLP's
/// fc1 epilogue and fc2's input-gradient epilogue) against the plain strided-rows GELU, bit for
/// bit, through each body: the activation equals the forward's, and dy ⊙ gelu′(h) equals the
/// backward's dx. Same rows as above (tails, gaps); nothing outside the rows may be written.
extension VectorKernelsTests {
    @Test(arguments: [PIXELFLY_BODY_PORTABLE, PIXELFLY_BODY_AVX2, PIXELFLY_BODY_AVX512].map(Int32.init))
    func keptDerivativeMatchesTheBackward(body: Int32) throws {
        let (rows, count, stride) = (5, 37, 53)
        let total = (rows - 1) * stride + count
        var rng = SeededRandom(seed: 31 &+ UInt64(body))
        let h = Matrix<Float>(rows: 1, cols: total, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage
        let dy = Matrix<Float>(rows: 1, cols: total, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng).storage
        let sentinel: Float = 12345
        var (y, expectedY) = ([Float](repeating: sentinel, count: total + 1), [Float](repeating: sentinel, count: total + 1))
        var (derivative, scaled, expectedDx) = (h + [sentinel], dy + [sentinel], dy + [sentinel])
        pixelfly_gelu_forward_derivative_rows_f32_body(body, &derivative, &y, rows, count, stride)
        pixelfly_scale_rows_f32_body(body, derivative, &scaled, rows, count, stride)
        pixelfly_gelu_forward_rows_f32_body(body, h, &expectedY, rows, count, stride)
        expectedDx.withUnsafeMutableBufferPointer { p in
            pixelfly_gelu_backward_rows_f32_body(body, h, p.baseAddress!, p.baseAddress!, rows, count, stride)
        }
        #expect(y == expectedY, "body \(body): gelu(h) of the forward that keeps the derivative")
        #expect(scaled == expectedDx, "body \(body): dy ⊙ the kept gelu′(h) against the backward's dx")
        for r in 0..<rows {
            for i in (r * stride)..<(r * stride + count) {
                let reference = BlocksReference.geluDerivative(Double(h[i]))
                #expect(abs(Double(derivative[i]) - reference) <= 1e-5 * max(abs(reference), 1), "body \(body): gelu′(\(h[i]))")
            }
        }
        let outside = (0...total).filter { i in i >= total || i % stride >= count }
        #expect(outside.allSatisfy { derivative[$0] == ($0 < total ? h[$0] : sentinel) }, "body \(body): h written outside its rows")
        #expect(outside.allSatisfy { scaled[$0] == ($0 < total ? dy[$0] : sentinel) }, "body \(body): scale wrote outside its rows")
    }
}

/// `BlockKernels.geluForwardKeepingDerivative` and `scale` (the token mixing's GELU pair) against
/// `geluForward` and `geluBackward` on the same inputs, bit for bit, in Float (the C bodies) and
/// Double (the Swift loops), at lengths with and without vector tails.
extension VectorKernelsTests {
    @Test(arguments: [1, 7, 8, 37, 1000])
    func keptGELUDerivativePairMatchesForwardAndBackward(count: Int) throws {
        try checkKeptDerivativePair(Float.self, count: count)
        try checkKeptDerivativePair(Double.self, count: count)
    }

    private func checkKeptDerivativePair<S: TensorScalar>(_: S.Type, count: Int) throws {
        var rng = SeededRandom(seed: 41 &+ UInt64(count))
        let h = Matrix<S>(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 3), rng: &rng).storage
        let da = Matrix<S>(rows: 1, cols: count, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng).storage
        var (slope, a, expectedA) = (h, [S](repeating: 0, count: count), [S](repeating: 0, count: count))
        var (dh, expectedDh) = (da, [S](repeating: 0, count: count))
        BlockKernels.geluForwardKeepingDerivative(&slope, &a, count: count)
        BlockKernels.scale(slope, &dh, count: count)
        BlockKernels.geluForward(h, &expectedA, count: count)
        BlockKernels.geluBackward(h, da, &expectedDh, count: count)
        #expect(a == expectedA, "\(S.self), \(count): gelu(h) of the forward that keeps the derivative")
        #expect(dh == expectedDh, "\(S.self), \(count): da ⊙ the kept gelu′(h) against geluBackward")
    }
}
