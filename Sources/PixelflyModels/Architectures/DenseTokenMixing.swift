import PixelflyCore

/// The token-mixing MLP of MLP-Mixer with dense linears, computed sequence by sequence from the
/// left, with no transposes.
///
/// Sequence b of the (B·T, C) input is the contiguous row-major T×C slice X_b. Mixing along the
/// token axis multiplies it from the left:
///
///     H_b = W₁·X_b + b₁·1ᵀ   (H×C),   A_b = gelu(H_b),   Y_b = W₂·A_b + b₂·1ᵀ   (T×C)
///
/// with W₁ (H, T) and W₂ (T, H) in the usual (out, in) layout — exactly `TokenMixing` with dense
/// linears, which computes the transpose Y_bᵀ = gelu(X_bᵀW₁ᵀ + 1b₁ᵀ)W₂ᵀ + 1b₂ᵀ on transposed copies.
/// The parameters have the same names and shapes, so checkpoints are interchangeable. Backward:
///
///     dW₂ += Σ_b dY_b·A_bᵀ,   db₂ += Σ_b dY_b·1,   dA_b = W₂ᵀ·dY_b,   dH_b = gelu′(H_b) ⊙ dA_b,
///     dW₁ += Σ_b dH_b·X_bᵀ,   db₁ += Σ_b dH_b·1,   dX_b = W₁ᵀ·dH_b
///
/// Why: the transposed layout turns the MLP into products with an inner dimension of T = 16
/// over B·C rows, where OpenBLAS spends most of its time packing, plus four transposes per
/// step. Per sequence, all the products of a sequence run while its slices are in cache, and
/// sequences are spread over `ComputeThreads` in one contiguous range per thread; each range sums
/// its weight gradients in its own slot, and the slots are added in a fixed order after the
/// region, so results do not depend on thread timing. The four products that write a block of
/// the sequence (H, Y, dA, dX) run on LIBXSMM kernels generated for the layer's shape, which do
/// not pack their operands (`TokenMixingProducts`); the weight gradients, which reduce over
/// both operands' contiguous axis, with their bias gradients on `BlockKernels.addInnerProducts`;
/// everything on a CPU LIBXSMM generates no code for on BLAS. Nothing is kept between the
/// forward and the backward: the backward recomputes H_b and A_b from X_b in a per-thread block
/// that stays in L2 (one product and one GELU more, instead of writing and reading back
/// 2·B·H·C elements; `TokenMixingKernels.backward` has the measurement). Inside a
/// `PreNormResidual` it also runs the block's LayerNorm and residual add in the same loop
/// (`forward(_:preNorm:into:)`), so LN(x) and its gradient never pass through memory.
public final class DenseTokenMixing<Scalar: TensorScalar>: PreNormFusingLayer {
    public let tokens: Int
    public let channels: Int
    public let hiddenFeatures: Int
    /// Tokens → hidden; weight (H, T), bias (1, H).
    public let fc1: DenseLinear<Scalar>
    /// Hidden → tokens; weight (T, H), bias (1, T).
    public let fc2: DenseLinear<Scalar>
    /// The four products that write a sequence's blocks (on LIBXSMM kernels where it generates them).
    private let products: TokenMixingProducts<Scalar>
    /// One row per thread (`TokenMixingShape.scratchCount`): A_b in the forward; gelu′(H_b), A_b
    /// and dA_b / dH_b in the backward, which recomputes H_b from X_b rather than keeping it
    /// (`TokenMixingKernels.backward`); with a pre-norm also LN(X_b), its gradient and statistics.
    private var scratch = Matrix<Scalar>(rows: 0, cols: 0)
    /// Per-range weight-gradient slots.
    private var partialGradients = Matrix<Scalar>(rows: 0, cols: 0)

    /// Draws fc1 then fc2 from `rng` exactly as `TokenMixing` with the dense factory does, so a
    /// seed gives the same weights either way.
    public convenience init(tokens: Int, channels: Int, hiddenFeatures: Int, name: String, rng: inout SeededRandom) throws {
        try self.init(tokens: tokens, channels: channels, hiddenFeatures: hiddenFeatures, name: name, usesLIBXSMM: true, rng: &rng)
    }

    /// `usesLIBXSMM: false` runs every product on BLAS (the path of CPUs LIBXSMM generates no
    /// code for; tests compare the two).
    init(tokens: Int, channels: Int, hiddenFeatures: Int, name: String, usesLIBXSMM: Bool, rng: inout SeededRandom) throws {
        guard tokens > 0, channels > 0, hiddenFeatures > 0 else {
            throw ShapeError("DenseTokenMixing", "tokens, channels and hidden features must be positive, "
                + "got \(tokens), \(channels), \(hiddenFeatures)")
        }
        self.tokens = tokens
        self.channels = channels
        self.hiddenFeatures = hiddenFeatures
        fc1 = try DenseLinear(tokens, hiddenFeatures, name: name + ".fc1", rng: &rng)
        fc2 = try DenseLinear(hiddenFeatures, tokens, name: name + ".fc2", rng: &rng)
        products = TokenMixingProducts(TokenMixingShape(tokens: tokens, channels: channels, hidden: hiddenFeatures),
                                       usesLIBXSMM: usesLIBXSMM)
    }

    public var parameters: [Parameter<Scalar>] { fc1.parameters + fc2.parameters }

    /// Whether H, Y, dA and dX run on LIBXSMM kernels (false: every product on BLAS).
    var runsProductsOnLIBXSMM: Bool { products.runsOnLIBXSMM }

    private var shape: TokenMixingShape {
        TokenMixingShape(tokens: tokens, channels: channels, hidden: hiddenFeatures)
    }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try forward(x, preNorm: nil, into: &y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, preNorm: nil, outputGradient: dy, inputGradient: &dx)
    }

    /// y = x + f(LN(x)), sequence by sequence: LN(X_b) is made in the thread's scratch and never
    /// written to memory (`PreNormResidual` calls this instead of its three passes).
    public func forward(_ x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>, into y: inout Matrix<Scalar>) throws {
        try forward(x, preNorm: Optional(norm), into: &y)
    }

    /// The backward of `forward(_:preNorm:into:)`: dx = LNᵀ(fᵀ(dy)) + dy, with the norm's γ and β
    /// gradients accumulated as well as the MLP's.
    public func backward(input x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, preNorm: Optional(norm), outputGradient: dy, inputGradient: &dx)
    }

    private func forward(_ x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>?, into y: inout Matrix<Scalar>) throws {
        let sequences = try sequenceCount(x, "DenseTokenMixing.forward", norm: norm)
        scratch.ensureShape(rows: ComputeThreads.count, cols: shape.scratchCount(preNorm: norm != nil))
        y.ensureShape(rows: x.rows, cols: channels)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                scratch.withUnsafeMutableBufferPointer { ps in
                    withWeights(norm: norm) { weights, preNorm in
                        TokenMixingKernels.forward(shape, sequences: sequences, x: px.baseAddress!, weights: weights,
                                                   products: products, preNorm: preNorm, scratch: ps.baseAddress!, y: py.baseAddress!)
                    }
                }
            }
        }
    }

    private func backward(input x: Matrix<Scalar>, preNorm norm: LayerNorm<Scalar>?, outputGradient dy: Matrix<Scalar>,
                          inputGradient dx: inout Matrix<Scalar>) throws {
        let sequences = try sequenceCount(x, "DenseTokenMixing.backward", norm: norm)
        guard dy.rows == x.rows, dy.cols == channels else {
            throw ShapeError("DenseTokenMixing.backward", "output gradient is \(dy.rows)×\(dy.cols) for input \(x.rows)×\(x.cols); "
                + "both must be (B·\(tokens))×\(channels)")
        }
        dx.ensureShape(rows: x.rows, cols: channels)
        let slots = ComputeThreads.count
        scratch.ensureShape(rows: slots, cols: shape.scratchCount(preNorm: norm != nil))
        partialGradients.ensureShape(rows: slots, cols: shape.gradientSlotCount(preNorm: norm != nil))
        x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                dx.withUnsafeMutableBufferPointer { pdx in
                    scratch.withUnsafeMutableBufferPointer { ps in
                        partialGradients.withUnsafeMutableBufferPointer { pg in
                            withWeights(norm: norm) { weights, preNorm in
                                TokenMixingKernels.backward(
                                    shape, sequences: sequences, x: px.baseAddress!, dy: pdy.baseAddress!,
                                    weights: weights, products: products, preNorm: preNorm,
                                    dx: pdx.baseAddress!, scratch: ps.baseAddress!, partials: pg.baseAddress!, slots: slots)
                            }
                        }
                    }
                }
            }
        }
        addSlots(norm: norm)
    }

    /// The four parameter arrays (and the norm's γ, β) as pointers, for the duration of `body`.
    private func withWeights<R>(norm: LayerNorm<Scalar>?,
                                _ body: (TokenMixingKernels.Weights<Scalar>, TokenMixingKernels.PreNorm<Scalar>?) -> R) -> R {
        let (w1, b1, w2, b2) = (fc1.weight.value, fc1.bias!.value, fc2.weight.value, fc2.bias!.value)
        return w1.withUnsafeBufferPointer { pw1 in
            b1.withUnsafeBufferPointer { pb1 in
                w2.withUnsafeBufferPointer { pw2 in
                    b2.withUnsafeBufferPointer { pb2 in
                        let weights = TokenMixingKernels.Weights(w1: pw1.baseAddress!, b1: pb1.baseAddress!,
                                                                 w2: pw2.baseAddress!, b2: pb2.baseAddress!)
                        guard let norm else { return body(weights, nil) }
                        return norm.gain.value.withUnsafeBufferPointer { gain in
                            norm.bias.value.withUnsafeBufferPointer { bias in
                                body(weights, .init(gain: gain.baseAddress!, bias: bias.baseAddress!, epsilon: norm.epsilon))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds every range's gradient slot to the parameters' gradients (and the norm's).
    private func addSlots(norm: LayerNorm<Scalar>?) {
        let (h, t, c) = (hiddenFeatures, tokens, channels)
        let slotCount = shape.gradientSlotCount(preNorm: norm != nil)
        partialGradients.withUnsafeBufferPointer { pg in
            for slot in 0..<partialGradients.rows {
                let base = pg.baseAddress! + slot * slotCount
                accumulate(base, count: h * t, into: fc1.weight)
                accumulate(base + h * t, count: h, into: fc1.bias!)
                accumulate(base + h * t + h, count: t * h, into: fc2.weight)
                accumulate(base + 2 * h * t + h, count: t, into: fc2.bias!)
                if let norm {
                    accumulate(base + 2 * h * t + h + t, count: c, into: norm.gain)
                    accumulate(base + 2 * h * t + h + t + c, count: c, into: norm.bias)
                }
            }
        }
    }

    private func accumulate(_ source: UnsafePointer<Scalar>, count: Int, into parameter: Parameter<Scalar>) {
        parameter.withMutableGradientElements { g in
            Scalar.axpy(count: count, alpha: 1, x: source, y: g.baseAddress!)
        }
    }

    private func sequenceCount(_ x: Matrix<Scalar>, _ operation: String, norm: LayerNorm<Scalar>?) throws -> Int {
        guard x.cols == channels, x.rows % tokens == 0 else {
            throw ShapeError(operation, "input is \(x.rows)×\(x.cols); expected (B·\(tokens))×\(channels)")
        }
        if let norm, norm.features != channels {
            throw ShapeError(operation, "the pre-norm has \(norm.features) features; this token mixing has \(channels) channels")
        }
        return x.rows / tokens
    }
}
