import PixelflyCore

/// Global-norm gradient clipping.
///
/// With ‖g‖ = √(Σ over all parameters of Σ g²), gradients are scaled by
/// `maxNorm / (‖g‖ + 1e-6)` when ‖g‖ > maxNorm (PyTorch's `clip_grad_norm_`). The norm is
/// accumulated in Double. Returns ‖g‖ before clipping (non-finite if any gradient is).
///
/// The parameters are spread over the compute threads, one task each; every parameter's Σ g²
/// is summed by one thread in a fixed order and the sums are added in parameter order, so the
/// norm is the same bits on any thread count.
@discardableResult
public func clipGradientNorm<Scalar: TensorScalar>(_ parameters: [Parameter<Scalar>], maxNorm: Double) -> Double {
    let sumOfSquares = withUnsafeTemporaryAllocation(of: Double.self, capacity: parameters.count) { sums in
        ComputeThreads.parallelFor(parameters.count) { index, _ in
            sums[index] = sumOfSquaresOf(parameters[index].gradient)
        }
        var total = 0.0
        for index in parameters.indices { total += sums[index] }
        return total
    }
    let norm = sumOfSquares.squareRoot()
    guard norm.isFinite, norm > maxNorm else { return norm }
    let factor = Scalar(maxNorm / (norm + 1e-6))
    ComputeThreads.parallelFor(parameters.count) { index, _ in
        parameters[index].withMutableGradientElements { scale(elements: $0, by: factor) }
    }
    return norm
}

/// Σ m²: eight running sums in `Scalar` over blocks of `sumOfSquaresBlock` elements, each
/// block's total added in Double. One running sum was a chain of dependent additions, one per
/// element at the adder's latency: 1.7 ms of a 62 ms Pixelfly Mixer step (2.3 M gradients) and
/// 6.7 ms of a 200 ms dense one on Zen 5 (perf, 150 steps;
/// notebooks-md/kernel-passes/07-gelu-in-kernels.md); eight independent sums let the adds overlap
/// (and the compiler pair them into vector adds). The order is fixed, so the result does not depend
/// on the thread count or the machine.
@usableFromInline
func sumOfSquaresOf<Scalar: TensorScalar>(_ m: Matrix<Scalar>) -> Double {
    m.withUnsafeBufferPointer { g in
        var total = 0.0
        var start = 0
        while start < g.count {
            let end = min(g.count, start + sumOfSquaresBlock)
            var (s0, s1, s2, s3, s4, s5, s6, s7) = (Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0), Scalar(0))
            var i = start
            while i + 8 <= end {
                s0 += g[i] * g[i]; s1 += g[i + 1] * g[i + 1]; s2 += g[i + 2] * g[i + 2]; s3 += g[i + 3] * g[i + 3]
                s4 += g[i + 4] * g[i + 4]; s5 += g[i + 5] * g[i + 5]; s6 += g[i + 6] * g[i + 6]; s7 += g[i + 7] * g[i + 7]
                i += 8
            }
            while i < end { s0 += g[i] * g[i]; i += 1 }
            total += Double(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
            start = end
        }
        return total
    }
}

/// Elements per block of `sumOfSquaresOf` (its Double accumulation step).
@usableFromInline
let sumOfSquaresBlock = 4096

/// m ← s·m.
@usableFromInline
func scale<Scalar: TensorScalar>(elements g: UnsafeMutableBufferPointer<Scalar>, by s: Scalar) {
    for i in g.indices { g[i] *= s }
}
