#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// Row-wise helpers of the gated Pixelfly combination, written with BLAS level-1/3 calls so the
/// per-element work runs in specialised code even from an unspecialised generic caller.
enum GateRows {
    /// y_i = s_i + g_i·d_i (+ b), row by row.
    static func blend<S: TensorScalar>(base s: Matrix<S>, difference d: Matrix<S>, gate: Matrix<S>,
                                       bias: Matrix<S>?, into y: inout Matrix<S>) {
        let n = y.cols
        s.withUnsafeBufferPointer { sp in
            d.withUnsafeBufferPointer { dp in
                gate.withUnsafeBufferPointer { gp in
                    y.withUnsafeMutableBufferPointer { yp in
                        guard let out = yp.baseAddress else { return }
                        memcpy(out, sp.baseAddress!, yp.count * MemoryLayout<S>.stride)
                        for i in 0..<gp.count {
                            S.axpy(count: n, alpha: gp[i], x: dp.baseAddress! + i * n, y: out + i * n)
                        }
                    }
                }
            }
        }
        if let bias {
            bias.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer { yp in
                    for i in 0..<(yp.count / max(n, 1)) { S.axpy(count: n, alpha: 1, x: bp.baseAddress!, y: yp.baseAddress! + i * n) }
                }
            }
        }
    }

    /// out_i = (dy_i · d_i)·g_i(1 − g_i), (batch, 1); the dot product as a 1×1 GEMM.
    static func gateGradient<S: TensorScalar>(dy: Matrix<S>, difference d: Matrix<S>, gate: Matrix<S>,
                                              into out: inout Matrix<S>) {
        out.reshape(rows: dy.rows, cols: 1)
        let n = dy.cols
        dy.withUnsafeBufferPointer { dyp in
            d.withUnsafeBufferPointer { dp in
                gate.withUnsafeBufferPointer { gp in
                    out.withUnsafeMutableBufferPointer { op in
                        for i in 0..<gp.count {
                            S.gemm(.none, .transposed, m: 1, n: 1, k: n, alpha: 1, a: dyp.baseAddress! + i * n, lda: n,
                                   b: dp.baseAddress! + i * n, ldb: n, beta: 0, c: op.baseAddress! + i, ldc: 1)
                            op[i] *= gp[i] * (1 - gp[i])
                        }
                    }
                }
            }
        }
    }

    /// out_i = g_i·dy_i, or (1 − g_i)·dy_i with `complement`.
    static func scale<S: TensorScalar>(_ dy: Matrix<S>, by gate: Matrix<S>, complement: Bool, into out: inout Matrix<S>) {
        out.reshape(rows: dy.rows, cols: dy.cols)
        let n = dy.cols
        out.withUnsafeMutableBufferPointer { op in
            guard let base = op.baseAddress else { return }
            memset(base, 0, op.count * MemoryLayout<S>.stride)
            dy.withUnsafeBufferPointer { dyp in
                gate.withUnsafeBufferPointer { gp in
                    for i in 0..<gp.count {
                        S.axpy(count: n, alpha: complement ? 1 - gp[i] : gp[i], x: dyp.baseAddress! + i * n, y: base + i * n)
                    }
                }
            }
        }
    }
}
