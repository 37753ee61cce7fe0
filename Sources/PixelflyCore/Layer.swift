/// A trainable tensor and the gradient accumulated for it.
///
/// A reference type so that a layer and an optimizer can share it: the layer reads `value`
/// and accumulates into `gradient`; the optimizer updates `value` in place.
public final class Parameter<Scalar: TensorScalar> {
    /// Dotted path, e.g. `"blocks.0.mlp.fc1.weight"`; checkpoints use it as the tensor name.
    public let name: String
    public var value: Matrix<Scalar>
    public var gradient: Matrix<Scalar>
    /// Whether decoupled weight decay applies (weights yes; biases and norm gains no).
    public let weightDecay: Bool

    public init(name: String, value: Matrix<Scalar>, weightDecay: Bool) {
        self.name = name
        self.value = value
        self.gradient = Matrix(rows: value.rows, cols: value.cols)
        self.weightDecay = weightDecay
    }

    public var count: Int { value.count }

    public func zeroGradient() { gradient.fill(0) }
}

/// A differentiable map from a batch of rows to a batch of rows, with explicit backward.
///
/// Contract (llm.c style):
/// - `forward(x, into: &y)` computes `y = f(x)` for `x` of shape (batch, features). It writes
///   into `y`, reshaping it as needed; a caller that keeps `y` between steps allocates nothing.
///   A layer may keep intermediates of its most recent forward for the backward pass.
/// - `backward(input: x, outputGradient: dy, inputGradient: &dx)` must follow the forward on
///   the same `x`. It **accumulates** `∂L/∂θ` into each parameter's `gradient` (so call
///   `zeroGradients()` once per step) and **overwrites** `dx` with `∂L/∂x`.
/// - Shapes that do not fit throw `ShapeError`.
public protocol Layer<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar

    func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws

    func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                  inputGradient dx: inout Matrix<Scalar>) throws

    /// Every trainable parameter, in a stable order.
    var parameters: [Parameter<Scalar>] { get }
}

extension Layer {
    /// `f(x)` as a new matrix (allocates; use `forward(_:into:)` in loops).
    public func callAsFunction(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        var y = Matrix<Scalar>(rows: 0, cols: 0)
        try forward(x, into: &y)
        return y
    }

    public func zeroGradients() {
        for p in parameters { p.zeroGradient() }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// A layer computing `y = x·Wᵀ + b` for some structured `W` of shape (out, in): dense,
/// low-rank, block-sparse, Pixelfly, butterfly. All of them are interchangeable in a model.
public protocol LinearLayer<Scalar>: Layer {
    var inputFeatures: Int { get }
    var outputFeatures: Int { get }
    /// Multiply-adds ×2 of one forward pass per input row (the FLOPs the structure needs).
    var forwardFLOPsPerRow: Int { get }
    /// The effective (out, in) weight as a dense matrix, for tests and conversion.
    func denseWeight() -> Matrix<Scalar>
}

extension LinearLayer {
    /// Throws unless `x` has `inputFeatures` columns.
    public func checkInput(_ x: Matrix<Scalar>, _ operation: String) throws {
        guard x.cols == inputFeatures else {
            throw ShapeError(operation, "input has \(x.cols) features per row; this layer takes \(inputFeatures)")
        }
    }

    /// Throws unless `dy` is (x.rows, outputFeatures).
    public func checkOutputGradient(_ dy: Matrix<Scalar>, input x: Matrix<Scalar>, _ operation: String) throws {
        try checkInput(x, operation)
        guard dy.rows == x.rows, dy.cols == outputFeatures else {
            throw ShapeError(operation, "output gradient is \(dy.rows)×\(dy.cols); expected \(x.rows)×\(outputFeatures)")
        }
    }
}
