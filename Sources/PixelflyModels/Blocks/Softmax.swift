import PixelflyCore

/// Row-wise softmax, numerically stable (the row maximum is subtracted before `exp`):
///
///     y_ij = exp(x_ij − max_k x_ik) / Σ_k exp(x_ik − max_k x_ik)
///
/// Backward: ∂L/∂x_ij = y_ij·(∂L/∂y_ij − Σ_k y_ik·∂L/∂y_ik). The forward keeps a copy of its
/// output for that (a workspace reused across steps).
public final class Softmax<Scalar: TensorScalar>: Layer {
    /// The output of the most recent forward pass.
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    private var probabilities = Matrix<Scalar>(rows: 0, cols: 0)

    public init() {}

    public var parameters: [Parameter<Scalar>] { [] }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        guard x.cols > 0 else { throw ShapeError("Softmax.forward", "rows must have at least one column") }
        forwardInput.record(x)
        x.copy(into: &y)
        let width = x.cols
        y.withUnsafeMutableBufferPointer { py in
            for i in 0..<x.rows { BlockKernels.softmaxRow(py.baseAddress! + i * width, valid: width, width: width) }
        }
        y.copy(into: &probabilities)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard dy.rows == x.rows, dy.cols == x.cols, probabilities.rows == x.rows, probabilities.cols == x.cols else {
            throw ShapeError("Softmax.backward", "output gradient is \(dy.rows)×\(dy.cols), input \(x.rows)×\(x.cols), "
                + "last forward \(probabilities.rows)×\(probabilities.cols); all three must agree (call forward first)")
        }
        try forwardInput.check(x, "Softmax.backward")
        dy.copy(into: &dx)
        let width = x.cols
        probabilities.withUnsafeBufferPointer { p in
            dx.withUnsafeMutableBufferPointer { g in
                for i in 0..<x.rows {
                    BlockKernels.softmaxRowBackward(probabilities: p.baseAddress! + i * width,
                                                    gradient: g.baseAddress! + i * width, count: width)
                }
            }
        }
    }
}
