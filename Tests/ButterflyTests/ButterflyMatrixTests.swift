import Butterfly
import PixelflyCore
import Testing

/// The SIMD kernel (radix-4 fusion, cache blocking, padded lanes, one-lane path) against the
/// butterfly materialised by plain loops, and the algebra around it: transpose, adjoint,
/// bit reversal, errors.
@Suite("Butterfly matrix")
struct ButterflyMatrixTests {
    static let layouts: [(ButterflyField, TwiddleSharing, [StrideOrder])] = [
        (.real, .perPair, [.increasing]), (.real, .perStride, [.decreasing]),
        (.complex, .perPair, [.increasing]), (.complex, .perStride, [.decreasing]),
        (.complex, .perPair, [.increasing, .decreasing]), (.real, .perPair, [.decreasing, .increasing]),
    ]

    /// Multiply vs dense product in Double; Float within 16·log₂(n)·ε of the Double reference
    /// (random twiddles, so entries grow like √(2^L)·… and 16 leaves room for that).
    @Test(arguments: [2, 4, 8, 32, 128, 512])
    func multiplyMatchesDenseMaterialisation(n: Int) throws {
        for (field, sharing, products) in Self.layouts {
            for batch in [1, 2, 5, 9] {
                try check(Double.self, n: n, field: field, sharing: sharing, products: products, batch: batch)
                try check(Float.self, n: n, field: field, sharing: sharing, products: products, batch: batch)
            }
        }
    }

    func check<S: TensorScalar>(_: S.Type, n: Int, field: ButterflyField, sharing: TwiddleSharing,
                                products: [StrideOrder], batch: Int) throws {
        let layout = try ButterflyLayout(n: n, field: field, sharing: sharing, products: products)
        var rng = SeededRandom(seed: UInt64(n * 31 + batch))
        let b = ButterflyMatrix<S>.random(layout: layout, rng: &rng)
        let x = TransformCheck.signals(S.self, batch: batch, scalarsPerRow: n * layout.scalarsPerElement, seed: UInt64(batch))
        var y = Matrix<S>(rows: 0, cols: 0)
        try b.multiply(x, into: &y, workspace: ButterflyWorkspace())
        let reference = denseProduct(b.dense(), x, complex: field == .complex)
        let tolerance = 16 * Double(n.trailingZeroBitCount * products.count) * Double(S.ulpOfOne)
        let error = compare(y, reference)
        #expect(error.maxRel <= tolerance, "\(S.self) n=\(n) \(field) \(sharing) \(products) batch=\(batch): \(error)")
    }

    /// Rows of x times Mᵀ, for M given as (re, im) and rows real or interleaved complex.
    func denseProduct<S: TensorScalar>(_ m: (re: Matrix<Double>, im: Matrix<Double>), _ x: Matrix<S>, complex: Bool) -> Matrix<Double> {
        let n = m.re.rows
        var y = Matrix<Double>(rows: x.rows, cols: x.cols)
        for r in 0..<x.rows {
            for i in 0..<n {
                var sr = 0.0, si = 0.0
                for j in 0..<n {
                    let xr = Double(complex ? x[r, 2 * j] : x[r, j]), xi = complex ? Double(x[r, 2 * j + 1]) : 0
                    sr += m.re[i, j] * xr - m.im[i, j] * xi
                    si += m.re[i, j] * xi + m.im[i, j] * xr
                }
                if complex { y[r, 2 * i] = sr; y[r, 2 * i + 1] = si } else { y[r, i] = sr }
            }
        }
        return y
    }

    @Test func transposeAndAdjointMaterialiseCorrectly() throws {
        for (field, sharing, products) in Self.layouts {
            var rng = SeededRandom(seed: 5)
            let b = ButterflyMatrix<Double>.random(layout: try ButterflyLayout(n: 16, field: field, sharing: sharing, products: products), rng: &rng)
            let (re, im) = b.dense()
            let t = b.transposed().dense(), h = b.adjoint().dense()
            #expect(try t.re.maxAbsDifference(re.transposed()) < 1e-12 && t.im.maxAbsDifference(im.transposed()) < 1e-12)
            #expect(try h.re.maxAbsDifference(re.transposed()) < 1e-12 && h.im.maxAbsDifference(im.transposed().map { -$0 }) < 1e-12)
        }
    }

    /// The DIT construction materialises to the DFT matrix F[k, j] = e^{−2πi jk/n} (times the
    /// input bit reversal): B·P = F, checked entry by entry.
    @Test(arguments: [2, 8, 64])
    func ditButterflyIsTheDFTMatrix(n: Int) throws {
        let transform = try ButterflyTransform<Double>.dft(n: n)
        let (re, im) = transform.butterfly.dense()
        let p = try #require(transform.inputPermutation)
        var worst = 0.0
        for k in 0..<n {
            for i in 0..<n {
                // (B·P)[k, j] = B[k, i] where p[i] = j.
                let j = p[i]
                let angle = -2 * Double.pi * Double(j * k) / Double(n)
                worst = max(worst, abs(re[k, i] - _cos(angle)), abs(im[k, i] - _sin(angle)))
            }
        }
        #expect(worst < 1e-13, "n=\(n): max entry error \(worst)")
    }

    @Test func bitReversalPermutation() throws {
        #expect(try BitReversal.permutation(8) == [0, 4, 2, 6, 1, 5, 3, 7])
        for n in [2, 16, 1024] {
            let p = try BitReversal.permutation(n)
            #expect(p.indices.allSatisfy { p[p[$0]] == $0 }, "bit reversal is an involution")
            #expect(try BitReversal.inverse(of: p) == p)
        }
        let shuffle = [2, 0, 3, 1]
        let inverse = try BitReversal.inverse(of: shuffle)
        #expect(shuffle.indices.allSatisfy { inverse[shuffle[$0]] == $0 })
        #expect(throws: ButterflyError.self) { try BitReversal.permutation(12) }
        #expect(throws: ButterflyError.self) { try BitReversal.inverse(of: [0, 0, 1]) }
    }

    @Test func badShapesThrowNamedErrors() throws {
        #expect(throws: ButterflyError.notPowerOfTwo(operation: "ButterflyLayout", n: 12)) {
            try ButterflyLayout(n: 12, field: .real)
        }
        #expect(throws: ButterflyError.self) { try ButterflyLayout(n: 8, field: .real, sharing: .perPair, strides: [1, 8]) }
        let b = ButterflyMatrix<Float>.identity(layout: try ButterflyLayout(n: 8, field: .complex))
        var y = Matrix<Float>(rows: 0, cols: 0)
        #expect(throws: ButterflyError.self) { try b.multiply(Matrix(rows: 2, cols: 8), into: &y, workspace: ButterflyWorkspace()) }
        #expect(throws: ButterflyError.self) { try ButterflyTransform<Float>.dft(n: 0) }
        #expect(throws: ButterflyError.self) { try ButterflyTransform<Float>.dct2(n: 24) }
        let message = ButterflyError.notPowerOfTwo(operation: "DFT", n: 24).description
        #expect(message.contains("16") && message.contains("32") && message.contains("Monarch"))
    }

    @Test func identityButterflyIsIdentity() throws {
        let b = ButterflyMatrix<Double>.identity(layout: try ButterflyLayout(n: 32, field: .complex, products: [.increasing, .decreasing]))
        let (re, im) = b.dense()
        var identity = Matrix<Double>(rows: 32, cols: 32)
        for i in 0..<32 { identity[i, i] = 1 }
        #expect(try re.maxAbsDifference(identity) == 0 && im.frobeniusNorm == 0)
    }
}

#if canImport(Glibc)
import Glibc
private func _cos(_ x: Double) -> Double { cos(x) }
private func _sin(_ x: Double) -> Double { sin(x) }
#endif
