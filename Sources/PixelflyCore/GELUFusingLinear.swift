/// A linear layer whose kernels can apply GELU to its output as they produce it, and GELU's
/// derivative to its input gradient, so that an MLP `fc2(gelu(fc1(x)))` needs no separate
/// activation pass over the (batch × hidden) matrices:
///
///     fc1:  h = x·Wᵀ + b,  a = gelu(h)                  `forward(_:into:gelu:)`
///     fc2:  dh = gelu′(h) ⊙ (dy·W)  (for input a = gelu(h))   `backward(input:outputGradient:geluInput:inputGradient:)`
///
/// Each output block gets the activation while it is still in cache after its products. The
/// results are the unfused sequence's up to rounding: the same GELU bodies, except that where
/// the AVX2 body's scalar tail falls can differ (tested to 1e-5 against Double). A layer
/// fuses only where its kernels can (`fusesGELU(batch:)`); callers fall back to `forward` or
/// `backward` plus a separate GELU otherwise.
public protocol GELUFusingLinear<Scalar>: LinearLayer {
    /// Whether the two fused calls run at this batch size with the layer's current backend.
    func fusesGELU(batch: Int) -> Bool

    /// `forward(x, into: &y)`, then `activated = gelu(y)` block by block. Throws
    /// `ConfigurationError` if `fusesGELU(batch: x.rows)` is false.
    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>) throws

    /// `backward(input: x, outputGradient: dy, inputGradient: &dx)` with dx multiplied by
    /// gelu′(`geluInput`) block by block, where x = gelu(geluInput). The parameter gradients are
    /// those of `backward`. Throws `ConfigurationError` if `fusesGELU(batch: x.rows)` is false.
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluInput: Matrix<Scalar>,
                  inputGradient dx: inout Matrix<Scalar>) throws

    /// `forward(_:into:gelu:)` keeping GELU's derivative instead of the pre-activation:
    /// `activated` = gelu(h) and `derivative` = gelu′(h) for h = x·Wᵀ + b, one gate for both.
    /// For an MLP whose fc2 then runs `backward(input:outputGradient:geluDerivative:inputGradient:)`,
    /// which multiplies by it instead of computing gelu′(h) again. Throws like `forward(_:into:gelu:)`.
    func forward(_ x: Matrix<Scalar>, geluDerivative derivative: inout Matrix<Scalar>, gelu activated: inout Matrix<Scalar>) throws

    /// `backward(input:outputGradient:geluInput:inputGradient:)` given gelu′ instead of its
    /// input: dx = (dy·W) ⊙ `geluDerivative`, block by block. Throws like it.
    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, geluDerivative: Matrix<Scalar>,
                  inputGradient dx: inout Matrix<Scalar>) throws
}

extension GELUFusingLinear {
    /// Throws `ConfigurationError` unless `fusesGELU(batch:)`.
    package func requireGELUFusion(batch: Int, _ operation: String) throws {
        guard !fusesGELU(batch: batch) else { return }
        throw ConfigurationError(operation, "GELU fuses only on the LIBXSMM backend, in Float, with kernels for a "
            + "\(batch)-row batch; check fusesGELU(batch:) and use forward/backward with a separate GELU otherwise")
    }

    /// Throws `ShapeError` unless `geluInput` (or GELU's derivative, `what`) has the shape of
    /// the input x it belongs to.
    package func checkGELUInput(_ geluInput: Matrix<Scalar>, of x: Matrix<Scalar>, _ operation: String,
                                what: String = "GELU input") throws {
        guard geluInput.rows == x.rows, geluInput.cols == x.cols else {
            throw ShapeError(operation, "\(what) is \(geluInput.rows)×\(geluInput.cols); the layer's input x = gelu(·) is \(x.rows)×\(x.cols)")
        }
    }
}
