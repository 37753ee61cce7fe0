import PixelflyCore

/// Layer normalisation over the channels of each row, with a learned gain γ and bias β:
///
///     y = γ ⊙ (x − μ)/√(σ² + ε) + β,   μ, σ² the mean and biased variance of the row
///
/// ε = 1e-5 by default (PyTorch's `nn.LayerNorm`). γ starts at 1, β at 0, and neither takes
/// weight decay (`Parameter.weightDecay == false`). The forward keeps μ and 1/√(σ² + ε) per row
/// for the backward pass; the derivation is in notebooks-md/blocks.md.
public final class LayerNorm<Scalar: TensorScalar>: Layer {
    public let features: Int
    public let epsilon: Scalar
    /// γ, (1, features).
    public let gain: Parameter<Scalar>
    /// β, (1, features).
    public let bias: Parameter<Scalar>
    /// Per-row (μ, 1/√(σ² + ε)) of the most recent forward pass, (rows, 2).
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    private var statistics = Matrix<Scalar>(rows: 0, cols: 2)
    /// Per-thread gain and bias gradient sums of the backward pass.
    private var partialGradients = Matrix<Scalar>(rows: 0, cols: 0)

    public init(features: Int, epsilon: Double = 1e-5, name: String = "norm") throws {
        guard features > 0 else { throw ShapeError("LayerNorm.init", "features must be positive, got \(features)") }
        guard epsilon > 0 else { throw ConfigurationError("LayerNorm.init", "epsilon must be positive, got \(epsilon)") }
        self.features = features
        self.epsilon = Scalar(epsilon)
        gain = Parameter(name: name + ".weight", value: Matrix(rows: 1, cols: features, repeating: 1), weightDecay: false)
        bias = Parameter(name: name + ".bias", value: Matrix(rows: 1, cols: features), weightDecay: false)
    }

    public var parameters: [Parameter<Scalar>] { [gain, bias] }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        guard x.cols == features else {
            throw ShapeError("LayerNorm.forward", "input has \(x.cols) features per row; this norm takes \(features)")
        }
        forwardInput.record(x)
        y.ensureShape(rows: x.rows, cols: features)
        statistics.ensureShape(rows: x.rows, cols: 2)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                gain.value.withUnsafeBufferPointer { g in
                    bias.value.withUnsafeBufferPointer { b in
                        statistics.withUnsafeMutableBufferPointer { stats in
                            BlockKernels.layerNormRows(px.baseAddress!, py.baseAddress!, rows: x.rows, count: features,
                                                       gain: g.baseAddress!, bias: b.baseAddress!, epsilon: epsilon,
                                                       statistics: stats.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, outputGradient: dy, skipGradient: nil, inputGradient: &dx)
    }

    /// The backward pass with `skip` added to the input gradient as each row is written:
    /// dx = LNᵀ(dy) + skip. A pre-norm residual block `x + f(LN(x))` passes its output gradient
    /// through the skip path this way (`PreNormResidual`), instead of a separate pass over dx.
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, addingSkipGradient skip: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard skip.rows == x.rows, skip.cols == features else {
            throw ShapeError("LayerNorm.backward", "skip gradient is \(skip.rows)×\(skip.cols); the input is \(x.rows)×\(x.cols)")
        }
        try backward(input: x, outputGradient: dy, skipGradient: skip, inputGradient: &dx)
    }

    private func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, skipGradient skip: Matrix<Scalar>?,
                          inputGradient dx: inout Matrix<Scalar>) throws {
        guard x.cols == features, dy.rows == x.rows, dy.cols == features, statistics.rows == x.rows else {
            throw ShapeError("LayerNorm.backward", "input \(x.rows)×\(x.cols) and output gradient \(dy.rows)×\(dy.cols) "
                + "must both be rows×\(features) and match the last forward (\(statistics.rows) rows)")
        }
        try forwardInput.check(x, "LayerNorm.backward")
        dx.ensureShape(rows: x.rows, cols: features)
        partialGradients.ensureShape(rows: ComputeThreads.count, cols: 2 * features)
        x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                dx.withUnsafeMutableBufferPointer { pdx in
                    gain.value.withUnsafeBufferPointer { g in
                        gain.withMutableGradientElements { dg in
                            bias.withMutableGradientElements { db in
                                statistics.withUnsafeBufferPointer { stats in
                                    partialGradients.withUnsafeMutableBufferPointer { partials in
                                        withOptionalPointer(skip) { pskip in
                                            BlockKernels.layerNormRowsBackward(
                                                px.baseAddress!, pdy.baseAddress!, pdx.baseAddress!, rows: x.rows, count: features,
                                                gain: g.baseAddress!, statistics: stats.baseAddress!,
                                                gainGradient: dg.baseAddress!, biasGradient: db.baseAddress!,
                                                partials: partials.baseAddress!, skip: pskip)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
