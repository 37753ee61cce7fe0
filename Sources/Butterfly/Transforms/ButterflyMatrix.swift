import PixelflyCore

/// A butterfly matrix B = F_{L'} ⋯ F_2·F_1: a product of radix-2 factors, each pairing x[i]
/// with x[i + s] (i's bit s clear) through its own 2×2 twiddle (see `ButterflyLayout`).
///
/// `multiply` costs O(n log n) per vector and allocates nothing once the workspace and output
/// have their sizes. Vectors are rows: n reals (real field) or n complex numbers interleaved
/// as (re, im) — FFTW's layout — for the complex field. Parameters: 2n·log₂n (real) or
/// 4n·log₂n (complex) scalars per product. Materialise it (`dense()`) only in tests.
public struct ButterflyMatrix<Scalar: TensorScalar>: Sendable {
    public let layout: ButterflyLayout
    /// 1 × `layout.twiddleScalarCount`, factor after factor (layout documented on the layout).
    public var twiddles: Matrix<Scalar>

    public init(layout: ButterflyLayout, twiddles: Matrix<Scalar>) throws {
        guard twiddles.count == layout.twiddleScalarCount else {
            throw ButterflyError.shapeMismatch(operation: "ButterflyMatrix", message: "layout needs \(layout.twiddleScalarCount) twiddle scalars, got \(twiddles.count)")
        }
        self.layout = layout
        self.twiddles = try Matrix(rows: 1, cols: twiddles.count, storage: twiddles.storage)
    }

    /// Twiddle entries drawn N(0, σ²) with σ = 1/√2 (real) or 1/2 per component (complex), so
    /// each factor preserves E‖x‖² on average.
    public static func random(layout: ButterflyLayout, rng: inout SeededRandom) -> ButterflyMatrix {
        let sd = layout.field == .real ? 0.5.squareRoot() : 0.5
        let values = Matrix<Scalar>(rows: 1, cols: layout.twiddleScalarCount,
                                    initializer: .normal(mean: 0, standardDeviation: sd), rng: &rng)
        return try! ButterflyMatrix(layout: layout, twiddles: values)
    }

    /// Every twiddle [[1, 0], [0, 1]].
    public static func identity(layout: ButterflyLayout) -> ButterflyMatrix {
        var values = [Scalar](repeating: 0, count: layout.twiddleScalarCount)
        let k = layout.field.scalarsPerTwiddle
        for start in stride(from: 0, to: values.count, by: k) {
            values[start] = 1
            values[start + k - (layout.field == .real ? 1 : 2)] = 1
        }
        return try! ButterflyMatrix(layout: layout, twiddles: Matrix(rows: 1, cols: values.count, storage: values))
    }

    /// Bᵀ: factors in reverse order, each 2×2 twiddle transposed.
    public func transposed() -> ButterflyMatrix { reversedFactors(conjugate: false) }

    /// Bᴴ = conjugate transpose (equal to Bᵀ for a real butterfly).
    public func adjoint() -> ButterflyMatrix { reversedFactors(conjugate: layout.field == .complex) }

    private func reversedFactors(conjugate: Bool) -> ButterflyMatrix {
        let k = layout.field.scalarsPerTwiddle, e = k / 4 // scalars per entry
        let reversed = layout.reversed
        var values = [Scalar](repeating: 0, count: layout.twiddleScalarCount)
        let source = twiddles.storage
        for f in 0..<layout.factorCount {
            let from = layout.offsets[f], to = reversed.offsets[layout.factorCount - 1 - f]
            for pair in 0..<((layout.offsets[f + 1] - from) / k) {
                // (a, b, c, d) → (a, c, b, d)
                for (entry, sourceEntry) in [0, 2, 1, 3].enumerated() {
                    for component in 0..<e {
                        let v = source[from + pair * k + sourceEntry * e + component]
                        values[to + pair * k + entry * e + component] = conjugate && component == 1 ? -v : v
                    }
                }
            }
        }
        return try! ButterflyMatrix(layout: reversed, twiddles: Matrix(rows: 1, cols: values.count, storage: values))
    }

    /// y = B·x for every row of x (n reals, or 2n interleaved scalars if complex).
    public func multiply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, workspace: ButterflyWorkspace) throws {
        let perRow = layout.n * layout.scalarsPerElement
        guard x.cols == perRow else {
            throw ButterflyError.shapeMismatch(operation: "ButterflyMatrix.multiply", message: "rows must hold \(perRow) scalars (n = \(layout.n), \(layout.field)), got \(x.cols)")
        }
        y.reshape(rows: x.rows, cols: perRow)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                twiddles.withUnsafeBufferPointer { tw in
                    butterflyRun(layout: layout, twiddles: tw.baseAddress!, input: input.baseAddress!, output: output.baseAddress!,
                                 batch: x.rows, mapping: ChunkMapping(realInput: layout.field == .real, realOutput: layout.field == .real),
                                 workspace: workspace, save: false)
                }
            }
        }
    }

    /// B as dense Double matrices (real and imaginary parts), by applying the factors one by
    /// one to the identity with plain loops — independent of the SIMD kernel. Tests only.
    public func dense() -> (re: Matrix<Double>, im: Matrix<Double>) {
        let n = layout.n, k = layout.field.scalarsPerTwiddle
        let tw = twiddles.storage.map(Double.init)
        var re = Matrix<Double>(rows: n, cols: n), im = Matrix<Double>(rows: n, cols: n)
        for i in 0..<n { re[i, i] = 1 }
        for f in 0..<layout.factorCount {
            let s = layout.strides[f]
            for i0 in 0..<n where i0 & s == 0 {
                let i1 = i0 + s, d = i0 / (2 * s), t = i0 % s
                let p = layout.offsets[f] + layout.twiddleIndex(factor: f, block: d, offset: t) * k
                let entry: (Int) -> (Double, Double) = { e in
                    layout.field == .real ? (tw[p + e], 0) : (tw[p + 2 * e], tw[p + 2 * e + 1])
                }
                let (a, b, c, dd) = (entry(0), entry(1), entry(2), entry(3))
                for j in 0..<n {
                    let x0 = (re[i0, j], im[i0, j]), x1 = (re[i1, j], im[i1, j])
                    re[i0, j] = a.0 * x0.0 - a.1 * x0.1 + b.0 * x1.0 - b.1 * x1.1
                    im[i0, j] = a.0 * x0.1 + a.1 * x0.0 + b.0 * x1.1 + b.1 * x1.0
                    re[i1, j] = c.0 * x0.0 - c.1 * x0.1 + dd.0 * x1.0 - dd.1 * x1.1
                    im[i1, j] = c.0 * x0.1 + c.1 * x0.0 + dd.0 * x1.1 + dd.1 * x1.0
                }
            }
        }
        return (re, im)
    }
}
