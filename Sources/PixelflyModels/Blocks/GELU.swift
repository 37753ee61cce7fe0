import PixelflyCore

/// GELU activation, tanh approximation (Hendrycks & Gimpel; the form GPT-2 and BERT use):
///
///     gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
///
/// computed as x·σ(2u) (see `BlockKernels.geluForward`). It differs from the exact
/// x·Φ(x) by at most 4.8·10⁻⁴ absolutely (near x = ±2.7; checked in the tests) and needs only
/// one `exp` per element, split over `ComputeThreads`. No parameters; the backward pass recomputes from the input, so the layer
/// keeps no state. A caller that owns the input and needs it only for the backward (`MLPBlock`)
/// can have the forward overwrite it with gelu′ instead (`forward(keepingDerivativeIn:into:)`),
/// and the backward then multiplies by it (`backward(derivative:gradientInPlace:)`):
/// the same results in Float and Double, with GELU's gate computed once per element instead of
/// twice.
public final class GELU<Scalar: TensorScalar>: Layer {
    public init() {}

    public var parameters: [Parameter<Scalar>] { [] }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        if y.rows != x.rows || y.cols != x.cols { y.reshape(rows: x.rows, cols: x.cols) }
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                guard let input = px.baseAddress, let output = py.baseAddress else { return }
                ComputeThreads.parallelRanges(px.count, minimumLength: 16_384) { range in
                    BlockKernels.geluForward(input + range.lowerBound, output + range.lowerBound, count: range.count)
                }
            }
        }
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard dy.rows == x.rows, dy.cols == x.cols else {
            throw ShapeError("GELU.backward", "output gradient is \(dy.rows)×\(dy.cols); the input is \(x.rows)×\(x.cols)")
        }
        if dx.rows != x.rows || dx.cols != x.cols { dx.reshape(rows: x.rows, cols: x.cols) }
        x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                dx.withUnsafeMutableBufferPointer { pdx in
                    guard let input = px.baseAddress, let gradient = pdy.baseAddress, let output = pdx.baseAddress else { return }
                    ComputeThreads.parallelRanges(px.count, minimumLength: 16_384) { range in
                        let start = range.lowerBound
                        BlockKernels.geluBackward(input + start, gradient + start, output + start, count: range.count)
                    }
                }
            }
        }
    }

    /// a = gelu(h), and h ← gelu′(h), element by element (`BlockKernels.geluForwardKeepingDerivative`).
    public func forward(keepingDerivativeIn h: inout Matrix<Scalar>, into a: inout Matrix<Scalar>) {
        if a.rows != h.rows || a.cols != h.cols { a.reshape(rows: h.rows, cols: h.cols) }
        h.withUnsafeMutableBufferPointer { ph in
            a.withUnsafeMutableBufferPointer { pa in
                guard let hidden = ph.baseAddress, let output = pa.baseAddress else { return }
                ComputeThreads.parallelRanges(ph.count, minimumLength: 16_384) { range in
                    BlockKernels.geluForwardKeepingDerivative(hidden + range.lowerBound, output + range.lowerBound, count: range.count)
                }
            }
        }
    }

    /// g ← gelu′(h) ⊙ g in place: the output gradient da becomes dh, with `derivative` the
    /// gelu′(h) that `forward(keepingDerivativeIn:into:)` left.
    public func backward(derivative: Matrix<Scalar>, gradientInPlace g: inout Matrix<Scalar>) throws {
        guard g.rows == derivative.rows, g.cols == derivative.cols else {
            throw ShapeError("GELU.backward", "output gradient is \(g.rows)×\(g.cols); the kept derivative is "
                + "\(derivative.rows)×\(derivative.cols)")
        }
        derivative.withUnsafeBufferPointer { pd in
            g.withUnsafeMutableBufferPointer { pg in
                guard let slope = pd.baseAddress, let gradient = pg.baseAddress else { return }
                ComputeThreads.parallelRanges(pd.count, minimumLength: 16_384) { range in
                    BlockKernels.scale(slope + range.lowerBound, gradient + range.lowerBound, count: range.count)
                }
            }
        }
    }
}
