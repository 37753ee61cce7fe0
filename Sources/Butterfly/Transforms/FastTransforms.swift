import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Scaling of a DFT, applied as a factor per butterfly stage (L stages, n = 2^L).
public enum DFTNormalization: String, Sendable, CaseIterable {
    /// Σ_j x_j ω^{jk}, no factor (FFTW's convention in both directions).
    case unnormalised
    /// 1/√n overall (1/√2 per stage): the DFT matrix is unitary.
    case unitary
    /// 1/n overall (1/2 per stage): the inverse of the unnormalised DFT.
    case byN

    var stageScale: Double {
        switch self {
        case .unnormalised: return 1
        case .unitary: return 0.5.squareRoot()
        case .byN: return 0.5
        }
    }
}

public enum DFTDirection: String, Sendable, CaseIterable {
    /// ω = e^{−2πi/n}.
    case forward
    /// ω = e^{+2πi/n}.
    case inverse
}

public enum FFTAlgorithm: String, Sendable, CaseIterable {
    /// Bit-reverse the input, then strides 1, 2, …, n/2 with twiddles [[1, ω_m^t], [1, −ω_m^t]].
    case decimationInTime
    /// The transpose of decimation in time (the DFT is symmetric): strides n/2, …, 1 with
    /// twiddles [[1, 1], [ω_m^t, −ω_m^t]], then bit-reverse the output.
    case decimationInFrequency
}

extension ButterflyTransform {
    /// The length-n DFT (n a power of two) as a butterfly with the bit-reversal permutation.
    ///
    /// Stage m = 2, 4, …, n (stride s = m/2) merges two length-s DFTs E, O of the halves:
    /// X_t = E_t + ω_m^t·O_t, X_{t+s} = E_t − ω_m^t·O_t — one 2×2 twiddle per pair, shared by
    /// the n/m blocks. Derivation: notebooks-md/butterfly-is-the-fft.md.
    public static func dft(n: Int, direction: DFTDirection = .forward, algorithm: FFTAlgorithm = .decimationInTime,
                           normalization: DFTNormalization = .unnormalised) throws -> ButterflyTransform {
        let dit = try ditButterfly(n: n, sign: direction == .forward ? -1 : 1, scale: normalization.stageScale)
        let bitReversal = try BitReversal.permutation(n)
        switch algorithm {
        case .decimationInTime:
            return try ButterflyTransform(butterfly: dit, inputPermutation: bitReversal)
        case .decimationInFrequency:
            return try ButterflyTransform(butterfly: dit.transposed(), outputPermutation: bitReversal)
        }
    }

    /// The Walsh–Hadamard transform in Sylvester order, H[i, j] = (−1)^{popcount(i AND j)}:
    /// every twiddle [[1, 1], [1, −1]] (× 1/√2 if unitary), no permutation; real rows.
    public static func hadamard(n: Int, normalization: DFTNormalization = .unnormalised) throws -> ButterflyTransform {
        let layout = try ButterflyLayout(n: n, field: .real, sharing: .perStride)
        let c = Scalar(normalization.stageScale)
        var values: [Scalar] = []
        for s in layout.strides { for _ in 0..<s { values += [c, c, c, -c] } }
        let butterfly = try ButterflyMatrix(layout: layout, twiddles: Matrix(rows: 1, cols: values.count, storage: values))
        return try ButterflyTransform(butterfly: butterfly, inputIsReal: true, outputIsReal: true)
    }

    /// DCT-II of real rows (Makhoul): v = (x₀, x₂, …, x_{n−2}, x_{n−1}, …, x₃, x₁), V = DFT(v),
    /// X_k = Re(2·e^{−iπk/(2n)}·V_k) = 2·Σ_j x_j cos(πk(2j+1)/(2n)) — FFTW's REDFT10. The
    /// reordering composes with the DIT bit reversal into one input gather; `orthonormal`
    /// scales X_0 by √(1/(4n)) and X_k by √(1/(2n)).
    public static func dct2(n: Int, orthonormal: Bool = false) throws -> ButterflyTransform {
        let dit = try ditButterfly(n: n, sign: -1, scale: 1)
        let bitReversal = try BitReversal.permutation(n)
        let evensThenOddsReversed = (0..<n).map { j in j < n / 2 ? 2 * j : 2 * (n - 1 - j) + 1 }
        var diagonal = [Scalar](repeating: 0, count: 2 * n)
        for k in 0..<n {
            let scale = orthonormal ? (k == 0 ? (1 / (4 * Double(n))).squareRoot() : (1 / (2 * Double(n))).squareRoot()) : 1
            let angle = -Double.pi * Double(k) / Double(2 * n)
            diagonal[2 * k] = Scalar(2 * scale * cos(angle))
            diagonal[2 * k + 1] = Scalar(2 * scale * sin(angle))
        }
        return try ButterflyTransform(butterfly: dit, inputIsReal: true, outputIsReal: true,
                                      inputPermutation: bitReversal.map { evensThenOddsReversed[$0] },
                                      outputDiagonal: diagonal)
    }

    /// The decimation-in-time butterfly: stride s = m/2, twiddle t = scale·[[1, ω_m^t], [1, −ω_m^t]]
    /// with ω_m = e^{sign·2πi/m}, computed in Double and rounded once.
    static func ditButterfly(n: Int, sign: Double, scale: Double) throws -> ButterflyMatrix<Scalar> {
        let layout = try ButterflyLayout(n: n, field: .complex, sharing: .perStride)
        var values: [Scalar] = []
        values.reserveCapacity(layout.twiddleScalarCount)
        for s in layout.strides {
            for t in 0..<s {
                let (wr, wi) = unitRoot(t, of: 2 * s, sign: sign)
                values += [scale, 0, scale * wr, scale * wi, scale, 0, -scale * wr, -scale * wi].map { Scalar($0) }
            }
        }
        return try ButterflyMatrix(layout: layout, twiddles: Matrix(rows: 1, cols: values.count, storage: values))
    }
}

/// e^{sign·2πi·k/m}, exact at the multiples of π/2 (so ω^0 = 1 and ω^{m/4} = ∓i carry no
/// rounding error).
func unitRoot(_ k: Int, of m: Int, sign: Double) -> (Double, Double) {
    let r = ((k % m) + m) % m
    if 4 * r % m == 0 {
        switch 4 * r / m {
        case 0: return (1, 0)
        case 1: return (0, sign)
        case 2: return (-1, 0)
        default: return (0, -sign)
        }
    }
    let angle = 2 * Double.pi * Double(r) / Double(m)
    return (cos(angle), sign * sin(angle))
}
