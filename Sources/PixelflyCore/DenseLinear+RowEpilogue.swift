/// The dense layer's fused passes. Each thread takes one band of rows (the library's split,
/// bands of ≥ 16 rows) and walks it in chunks of `rowEpilogueChunkRows` rows, one
/// single-threaded BLAS call per chunk, running the epilogue on the chunk right after its call:
///
///     forward    y[c, :] = b + x[c, :]·Wᵀ,  then epilogue(c)
///     backward   dx[c, :] = dy[c, :]·W,      then epilogue(c)      (dW, db as in `backward`)
///
/// Products under 2¹⁸ multiply-adds stay on one thread, as in `parallelGemm`.
extension DenseLinear: RowEpilogueLinear {
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, epilogue: RowEpilogue<Scalar>) throws {
        try checkInput(x, "DenseLinear.forward")
        let (batch, n, k) = (x.rows, outputFeatures, inputFeatures)
        if y.rows != batch || y.cols != n { y.reshape(rows: batch, cols: n) }
        let bias = self.bias?.value
        x.withUnsafeBufferPointer { input in
            weight.value.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { output in
                    Self.withOptionalPointer(bias) { b in
                        Self.forEachChunk(rows: batch, n: n, k: k) { chunk in
                            let c = output.baseAddress! + chunk.lowerBound * n
                            if let b { for row in 0..<chunk.count { (c + row * n).update(from: b, count: n) } }
                            Scalar.gemm(.none, .transposed, m: chunk.count, n: n, k: k, alpha: 1,
                                        a: input.baseAddress! + chunk.lowerBound * k, lda: k, b: w.baseAddress!, ldb: k,
                                        beta: b == nil ? 0 : 1, c: c, ldc: n)
                            epilogue(chunk, output.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, inputGradient dx: inout Matrix<Scalar>,
                         epilogue: RowEpilogue<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "DenseLinear.backward")
        try weight.updateGradient { try gemm(dy, .transposed, x, .none, beta: 1, into: &$0) }
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        let (batch, n, k) = (x.rows, inputFeatures, outputFeatures)
        if dx.rows != batch || dx.cols != n { dx.reshape(rows: batch, cols: n) }
        dy.withUnsafeBufferPointer { gradient in
            weight.value.withUnsafeBufferPointer { w in
                dx.withUnsafeMutableBufferPointer { output in
                    Self.forEachChunk(rows: batch, n: n, k: k) { chunk in
                        Scalar.gemm(.none, .none, m: chunk.count, n: n, k: k, alpha: 1,
                                    a: gradient.baseAddress! + chunk.lowerBound * k, lda: k, b: w.baseAddress!, ldb: n,
                                    beta: 0, c: output.baseAddress! + chunk.lowerBound * n, ldc: n)
                        epilogue(chunk, output.baseAddress!)
                    }
                }
            }
        }
    }

    /// Thread bands of `rows` rows (one band below 2¹⁸ multiply-adds), each walked in chunks.
    private static func forEachChunk(rows: Int, n: Int, k: Int, _ body: (Range<Int>) -> Void) {
        if rows == 0 || n == 0 || k == 0 { return }
        let minimum = rows * n * k < parallelGemmThreshold ? rows : 16
        ComputeThreads.forEachPart(items: rows, minimumPerPart: minimum) { band, _, _ in
            for start in stride(from: band.lowerBound, to: band.upperBound, by: rowEpilogueChunkRows) {
                body(start..<min(band.upperBound, start + rowEpilogueChunkRows))
            }
        }
    }

    private static func withOptionalPointer<R>(_ matrix: Matrix<Scalar>?, _ body: (UnsafePointer<Scalar>?) -> R) -> R {
        guard let matrix else { return body(nil) }
        return matrix.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
