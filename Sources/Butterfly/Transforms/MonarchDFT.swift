import PixelflyCore

/// The exact DFT of any composite length n = p·q in Monarch form: two block-diagonal complex
/// factors with reshape-transpose permutations around them (method doc sections 1 and 4).
///
/// With j = q·j₁ + j₂ and k = k₁ + p·k₂ (j₁, k₁ < p; j₂, k₂ < q), ω_n^{jk} =
/// ω_n^{k₁(q·j₁ + j₂)}·ω_q^{j₂k₂} because ω_n^{pq·j₁k₂} = 1. So:
/// 1. gather x into q blocks of p (block j₂ holds x[q·j₁ + j₂]) — a reshape-transpose;
/// 2. R: block j₂ is the p×p matrix R_{j₂}[k₁, j₁] = ω_n^{k₁(q·j₁ + j₂)} (a length-p DFT with
///    the Cooley–Tukey twiddles ω_n^{j₂k₁} folded in);
/// 3. regroup into p blocks of q (block k₁ holds stage-1 entry j₂·p + k₁) — a reshape-transpose;
/// 4. L: block k₁ is the q×q DFT L[k₂, j₂] = ω_q^{j₂k₂};
/// 5. entry k₁·q + k₂ is X[k₁ + p·k₂] — a reshape-transpose.
/// Each permuted DFT block is exactly rank one in the Monarch projection, so these closed-form
/// blocks are what the rank-1 SVD projection recovers. Cost n·(p + q) complex multiply-adds
/// per vector, with p ≤ q the divisor pair closest to √n. Prime n has no such pair: the
/// initializer throws `ButterflyError.primeLength`.
public struct MonarchDFT<Scalar: TensorScalar>: Sendable {
    public let n: Int
    public let p: Int
    public let q: Int
    /// q blocks of p×p, row-major, complex interleaved: (j₂, k₁, j₁) → 2·((j₂·p + k₁)·p + j₁).
    public let right: [Scalar]
    /// p blocks of q×q: (k₁, k₂, j₂) → 2·((k₁·q + k₂)·q + j₂).
    public let left: [Scalar]

    public init(n: Int, direction: DFTDirection = .forward) throws {
        // p = the largest divisor of n with p² ≤ n.
        var p = Int(Double(max(n, 0)).squareRoot())
        while (p + 1) * (p + 1) <= n { p += 1 }
        while p > 1, n % p != 0 { p -= 1 }
        guard p > 1 else { throw ButterflyError.primeLength(n: n) }
        let q = n / p
        let sign: Double = direction == .forward ? -1 : 1
        self.n = n
        self.p = p
        self.q = q
        var right = [Scalar](repeating: 0, count: 2 * q * p * p)
        for j2 in 0..<q {
            for k1 in 0..<p {
                for j1 in 0..<p {
                    let (wr, wi) = unitRoot(k1 * (q * j1 + j2), of: n, sign: sign)
                    let at = 2 * ((j2 * p + k1) * p + j1)
                    right[at] = Scalar(wr)
                    right[at + 1] = Scalar(wi)
                }
            }
        }
        var left = [Scalar](repeating: 0, count: 2 * p * q * q)
        for k1 in 0..<p {
            for k2 in 0..<q {
                for j2 in 0..<q {
                    let (wr, wi) = unitRoot(j2 * k2, of: q, sign: sign)
                    let at = 2 * ((k1 * q + k2) * q + j2)
                    left[at] = Scalar(wr)
                    left[at + 1] = Scalar(wi)
                }
            }
        }
        self.right = right
        self.left = left
    }

    /// The DFT of every row of x (n complex numbers interleaved), into y.
    public func apply(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        guard x.cols == 2 * n else {
            throw ButterflyError.shapeMismatch(operation: "MonarchDFT.apply", message: "rows must hold \(2 * n) scalars (n = \(n) complex, interleaved), got \(x.cols)")
        }
        y.reshape(rows: x.rows, cols: 2 * n)
        var stage1 = [Scalar](repeating: 0, count: 2 * n)
        for r in 0..<x.rows {
            x.withUnsafeBufferPointer { rows in
                let row = rows.baseAddress! + r * 2 * n
                // Stage-1 output j₂·p + k₁ = Σ_{j₁} R_{j₂}[k₁, j₁] · x[q·j₁ + j₂].
                for j2 in 0..<q {
                    for k1 in 0..<p {
                        var sr: Scalar = 0, si: Scalar = 0
                        for j1 in 0..<p {
                            let w = 2 * ((j2 * p + k1) * p + j1), v = 2 * (q * j1 + j2)
                            sr += right[w] * row[v] - right[w + 1] * row[v + 1]
                            si += right[w] * row[v + 1] + right[w + 1] * row[v]
                        }
                        stage1[2 * (j2 * p + k1)] = sr
                        stage1[2 * (j2 * p + k1) + 1] = si
                    }
                }
            }
            y.withUnsafeMutableBufferPointer { rows in
                let row = rows.baseAddress! + r * 2 * n
                // X[k₁ + p·k₂] = Σ_{j₂} L[k₂, j₂] · stage1[j₂·p + k₁].
                for k1 in 0..<p {
                    for k2 in 0..<q {
                        var sr: Scalar = 0, si: Scalar = 0
                        for j2 in 0..<q {
                            let w = 2 * ((k1 * q + k2) * q + j2), v = 2 * (j2 * p + k1)
                            sr += left[w] * stage1[v] - left[w + 1] * stage1[v + 1]
                            si += left[w] * stage1[v + 1] + left[w + 1] * stage1[v]
                        }
                        row[2 * (k1 + p * k2)] = sr
                        row[2 * (k1 + p * k2) + 1] = si
                    }
                }
            }
        }
    }

    public func callAsFunction(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        var y = Matrix<Scalar>(rows: 0, cols: 0)
        try apply(x, into: &y)
        return y
    }
}
