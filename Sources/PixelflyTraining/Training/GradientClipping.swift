import PixelflyCore

/// Global-norm gradient clipping.
///
/// With ‖g‖ = √(Σ over all parameters of Σ g²), gradients are scaled by
/// `maxNorm / (‖g‖ + 1e-6)` when ‖g‖ > maxNorm (PyTorch's `clip_grad_norm_`). The norm is
/// accumulated in Double. Returns ‖g‖ before clipping (non-finite if any gradient is).
@discardableResult
public func clipGradientNorm<Scalar: TensorScalar>(_ parameters: [Parameter<Scalar>], maxNorm: Double) -> Double {
    var sumOfSquares = 0.0
    for index in parameters.indices { sumOfSquares += sumOfSquaresOf(parameters[index].gradient) }
    let norm = sumOfSquares.squareRoot()
    guard norm.isFinite, norm > maxNorm else { return norm }
    let factor = Scalar(maxNorm / (norm + 1e-6))
    for index in parameters.indices { parameters[index].withMutableGradientElements { scale(elements: $0, by: factor) } }
    return norm
}

/// Σ m², accumulated per tensor in `Scalar` and returned in Double.
@usableFromInline
func sumOfSquaresOf<Scalar: TensorScalar>(_ m: Matrix<Scalar>) -> Double {
    m.withUnsafeBufferPointer { g in
        var partial: Scalar = 0
        for i in g.indices { partial += g[i] * g[i] }
        return Double(partial)
    }
}

/// m ← s·m.
@usableFromInline
func scale<Scalar: TensorScalar>(elements g: UnsafeMutableBufferPointer<Scalar>, by s: Scalar) {
    for i in g.indices { g[i] *= s }
}
