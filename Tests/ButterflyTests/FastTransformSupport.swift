import Butterfly
import FFTWOracle
import PixelflyCore

/// Shared helpers for the fast-transform tests: seeded signals, FFTW references in Double and
/// the error measure used by every tolerance.
enum TransformCheck {
    /// `batch` random rows of `scalarsPerRow` values in [−1, 1), rounded to `S`.
    static func signals<S: TensorScalar>(_: S.Type, batch: Int, scalarsPerRow: Int, seed: UInt64) -> Matrix<S> {
        var rng = SeededRandom(seed: seed)
        return Matrix<S>(rows: batch, cols: scalarsPerRow, initializer: .uniform(low: -1, high: 1), rng: &rng)
    }

    /// FFTW (double precision) applied to the rows of x, times `scale`.
    static func fftw<S: TensorScalar>(_ transform: FFTWTransform, n: Int, _ x: Matrix<S>, scale: Double = 1) throws -> Matrix<Double> {
        let input = x.converted(to: Double.self)
        let output = try FFTWPlanCache<Double>.shared.apply(transform, n: n, to: input.storage)
        return try Matrix(rows: x.rows, cols: output.count / x.rows, storage: output.map { $0 * scale })
    }

    /// Max abs error over max |reference| — the error relative to the transform's output norm.
    static func relativeError<S: TensorScalar>(_ actual: Matrix<S>, _ reference: Matrix<Double>) -> Double {
        compare(actual, reference).maxRel
    }

    /// The tolerance every transform test states: 4·log₂(n)·ε with ε = S.ulpOfOne
    /// (Double: 1.4e-14 at n = 2^16, far inside the 1e-12 target; Float: 7.6e-6 at 2^16).
    /// A radix-2 FFT's error bound grows like log₂(n)·ε; 4 covers twiddle rounding.
    static func tolerance<S: TensorScalar>(_: S.Type, n: Int) -> Double {
        4 * Double(max(n.trailingZeroBitCount, 1)) * Double(S.ulpOfOne)
    }

    /// Walsh–Hadamard of each row in Sylvester order by the recursion H_{2m} = [[H, H], [H, −H]],
    /// in Double (for n ≤ 1024 checked against the definition (−1)^{popcount(i AND j)}).
    static func hadamardReference<S: TensorScalar>(_ x: Matrix<S>, scale: Double = 1) -> Matrix<Double> {
        var y = x.converted(to: Double.self)
        let n = x.cols
        for r in 0..<x.rows {
            var row = y.row(r)
            func transform(_ lo: Int, _ size: Int) {
                guard size > 1 else { return }
                let half = size / 2
                transform(lo, half)
                transform(lo + half, half)
                for i in lo..<(lo + half) { (row[i], row[i + half]) = (row[i] + row[i + half], row[i] - row[i + half]) }
            }
            transform(0, n)
            for j in 0..<n { y[r, j] = row[j] * scale }
        }
        return y
    }

    static func hadamardDefinition<S: TensorScalar>(_ x: Matrix<S>) -> Matrix<Double> {
        var y = Matrix<Double>(rows: x.rows, cols: x.cols)
        for r in 0..<x.rows {
            for i in 0..<x.cols {
                var sum = 0.0
                for j in 0..<x.cols { sum += ((i & j).nonzeroBitCount % 2 == 0 ? 1 : -1) * Double(x[r, j]) }
                y[r, i] = sum
            }
        }
        return y
    }
}
