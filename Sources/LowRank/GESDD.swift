import COpenBLAS
import PixelflyCore

/// LAPACK `?gesdd` (divide-and-conquer SVD) with `jobz = 'S'`, for the two scalar types.
///
/// LAPACK is column-major. The caller passes an `m`×`n` column-major array in `a` (destroyed),
/// and receives `s` (min(m, n) singular values, descending), `u` (m × min(m, n), column-major,
/// leading dimension m) and `vt` (min(m, n) × n, column-major, leading dimension min(m, n)).
/// The workspace size comes from a query call with `lwork = −1`.
enum GESDD {
    static func run<S: TensorScalar>(
        m: Int, n: Int, a: inout [S], s: inout [S], u: inout [S], vt: inout [S]
    ) throws {
        let routine = S.self == Float.self ? "sgesdd" : "dgesdd"
        guard S.self == Float.self || S.self == Double.self else {
            throw LAPACKError(routine: "gesdd", info: 0, message: "no LAPACK routine for \(S.self); use Float or Double")
        }
        guard m <= Int(Int32.max), n <= Int(Int32.max), m * n <= Int(Int32.max) else {
            throw LAPACKError(routine: routine, info: 0, message: "\(m)×\(n) exceeds LAPACK's 32-bit indexing")
        }
        let k = min(m, n)
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var query: [S] = [0]
        try call(m: m, n: n, a: &a, s: &s, u: &u, vt: &vt, work: &query, lwork: -1, iwork: &iwork)
        // The query answer is a floating-point count (inexact above 2^24 in Float); never go
        // below LAPACK's documented minimum for jobz = 'S'.
        let documentedMinimum = 3 * k + max(max(m, n), 5 * k * k + 4 * k)
        let lwork = max(Int(Double(query[0]).rounded(.up)), documentedMinimum)
        var work = [S](repeating: 0, count: lwork)
        try call(m: m, n: n, a: &a, s: &s, u: &u, vt: &vt, work: &work, lwork: lwork, iwork: &iwork)
    }

    private static func call<S: TensorScalar>(
        m: Int, n: Int, a: inout [S], s: inout [S], u: inout [S], vt: inout [S],
        work: inout [S], lwork: Int, iwork: inout [Int32]
    ) throws {
        var jobz = CChar(UInt8(ascii: "S"))
        var (m32, n32) = (Int32(m), Int32(n))
        var (lda, ldu, ldvt) = (Int32(max(m, 1)), Int32(max(m, 1)), Int32(max(min(m, n), 1)))
        var lwork32 = Int32(clamping: lwork)
        var info: Int32 = 0
        if S.self == Float.self {
            a.withFloats { pa in s.withFloats { ps in u.withFloats { pu in vt.withFloats { pvt in work.withFloats { pw in
                sgesdd_(&jobz, &m32, &n32, pa, &lda, ps, pu, &ldu, pvt, &ldvt, pw, &lwork32, &iwork, &info)
            } } } } }
        } else {
            a.withDoubles { pa in s.withDoubles { ps in u.withDoubles { pu in vt.withDoubles { pvt in work.withDoubles { pw in
                dgesdd_(&jobz, &m32, &n32, pa, &lda, ps, pu, &ldu, pvt, &ldvt, pw, &lwork32, &iwork, &info)
            } } } } }
        }
        let routine = S.self == Float.self ? "sgesdd" : "dgesdd"
        if info < 0 {
            throw LAPACKError(routine: routine, info: Int(info), message: "argument \(-info) had an illegal value (m \(m), n \(n), lwork \(lwork))")
        }
        if info > 0 {
            throw LAPACKError(routine: routine, info: Int(info), message: "the bidiagonal divide-and-conquer iteration did not converge")
        }
    }
}

extension Array where Element: TensorScalar {
    /// The elements as `Float` (only valid when `Element == Float`, which the caller checks).
    fileprivate mutating func withFloats<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBytes { body($0.baseAddress!.assumingMemoryBound(to: Float.self)) }
    }

    /// The elements as `Double` (only valid when `Element == Double`, which the caller checks).
    fileprivate mutating func withDoubles<R>(_ body: (UnsafeMutablePointer<Double>) -> R) -> R {
        withUnsafeMutableBytes { body($0.baseAddress!.assumingMemoryBound(to: Double.self)) }
    }
}
