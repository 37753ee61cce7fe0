import CVectorKernels
import PixelflyCore

/// An element-wise pass that a block-sparse product runs over each batch tile of its output
/// once the tile's rows are finished (block products, a fused low-rank term and the bias):
/// GELU's forward on fc1's output, GELU's derivative on fc2's input gradient in an MLP
/// (`GELUFusingLinear`). The tile (64 rows × out) was just written, so the pass reads it from
/// L2 instead of reading the whole (batch × hidden) matrix back from memory in a separate pass,
/// and it runs inside the kernel's thread split instead of a parallel region of its own.
///
/// Whole rows, not strip by strip: a strip's block (64 rows of 48–128 elements, rows `out`
/// apart) is still in L1, but the operand at the same offsets (a for the forward, h for the
/// derivative) then streams in 192-byte pieces 12 KB apart, which the prefetchers do not follow:
/// on Zen 5, a 1024 × 3072 GELU in such blocks took 1.7–2.5 ms against 0.8–1.1 ms contiguous
/// (1 thread), and the Mixer step did not get faster
/// (notebooks-md/kernel-passes/07-gelu-in-kernels.md).
///
/// `output` and the epilogue's operand are row-major with the same shape, so the rows at
/// `offset` of one are the rows at `offset` of the other. Float only: the GELU bodies are
/// CVectorKernels' (AVX-512F, AVX2+FMA or portable, chosen at run time), those of the `GELU`
/// layer.
///
/// The derivative pair: `geluKeepingDerivative` on fc1 leaves gelu′(h) where h was, and
/// `scale` on fc2's input gradient multiplies by it, instead of `geluDerivative` computing
/// gelu′(h) from h there (an exponential and a division per element, in the backward's
/// epilogue). On an AMD EPYC Zen 2 (AVX2 body, 1 thread, one 64 × 3072 tile,
/// `scripts/gelu-derivative-timing.c`, three runs) the forward with the derivative took
/// 1.27–1.29 ns per element against 0.98–0.99 for the plain one, and the scale 0.17–0.18
/// against 1.29–1.30 for the derivative: the pair 1.45 against 2.28 ns per element; the Mixer
/// training step was 1.4–2.2 % faster in 6 of 6 interleaved runs
/// (notebooks-md/kernel-passes/24-product-by-product.md).
enum OutputEpilogue<S> {
    /// activated = gelu(output).
    case gelu(activated: UnsafeMutablePointer<S>)
    /// output ← output ⊙ gelu′(preActivation): dh = gelu′(h) ⊙ da.
    case geluDerivative(preActivation: UnsafePointer<S>)
    /// activated = gelu(output), then output ← gelu′(output).
    case geluKeepingDerivative(activated: UnsafeMutablePointer<S>)
    /// output ← output ⊙ factor: dh = gelu′(h) ⊙ da with gelu′(h) from `geluKeepingDerivative`.
    case scale(by: UnsafePointer<S>)

    /// Whether the epilogue can run for this scalar type.
    static var isAvailable: Bool { S.self == Float.self }

    /// Runs the pass over `count` contiguous elements of `output` from `offset`.
    func run(_ output: UnsafeMutablePointer<S>, offset: Int, count: Int) {
        run(output, offset: offset, rows: 1, count: count, stride: count)
    }

    /// Runs the pass over `rows` pieces of `count` elements of `output`, `stride` apart, the
    /// first at `offset`. The derivative prefetches the next row's piece of preActivation while a
    /// row runs (`pixelfly_gelu_backward_rows_f32`).
    func run(_ output: UnsafeMutablePointer<S>, offset: Int, rows: Int, count: Int, stride: Int) {
        precondition(Self.isAvailable, "OutputEpilogue runs on Float only; callers check isAvailable")
        guard rows > 0, count > 0 else { return }
        let out = UnsafeMutableRawPointer(output + offset).assumingMemoryBound(to: Float.self)
        switch self {
        case .gelu(let activated):
            pixelfly_gelu_forward_rows_f32(out, UnsafeMutableRawPointer(activated + offset).assumingMemoryBound(to: Float.self),
                                           rows, count, stride)
        case .geluDerivative(let preActivation):
            pixelfly_gelu_backward_rows_f32(UnsafeRawPointer(preActivation + offset).assumingMemoryBound(to: Float.self),
                                            out, out, rows, count, stride)
        case .geluKeepingDerivative(let activated):
            pixelfly_gelu_forward_derivative_rows_f32(out, UnsafeMutableRawPointer(activated + offset).assumingMemoryBound(to: Float.self),
                                                      rows, count, stride)
        case .scale(let factor):
            pixelfly_scale_rows_f32(UnsafeRawPointer(factor + offset).assumingMemoryBound(to: Float.self), out, rows, count, stride)
        }
    }
}
