/// A trainable tensor and the gradient accumulated for it.
///
/// A reference type so that a layer and an optimizer can share it: the layer reads `value`
/// and accumulates into `gradient`; the optimizer updates `value` in place.
///
/// Invariant: `value` and `gradient` keep the shape (`rows`×`cols`) the parameter was created
/// with. Layers hand their storage to raw-pointer kernels sized from that shape, so nothing
/// outside this class can change it: the properties are read-only, and every write goes
/// through `assign(_:)`, `assignGradient(_:)`, `updateValue(_:)` or `updateGradient(_:)`,
/// which throw `ShapeError` instead of accepting another shape.
public final class Parameter<Scalar: TensorScalar> {
    /// Dotted path, e.g. `"blocks.0.mlp.fc1.weight"`; checkpoints use it as the tensor name.
    public let name: String
    /// The fixed shape of `value` and `gradient`.
    public let rows: Int
    public let cols: Int
    @usableFromInline var _value: Matrix<Scalar>
    @usableFromInline var _gradient: Matrix<Scalar>
    /// Whether decoupled weight decay applies (weights yes; biases and norm gains no).
    public let weightDecay: Bool

    /// The current value (`rows`×`cols`).
    @inlinable public var value: Matrix<Scalar> { _value }
    /// The accumulated gradient (`rows`×`cols`).
    @inlinable public var gradient: Matrix<Scalar> { _gradient }

    public init(name: String, value: Matrix<Scalar>, weightDecay: Bool) {
        self.name = name
        self.rows = value.rows
        self.cols = value.cols
        self._value = value
        self._gradient = Matrix(rows: value.rows, cols: value.cols)
        self.weightDecay = weightDecay
    }

    public var count: Int { rows * cols }

    public func zeroGradient() { _gradient.fill(0) }

    /// Replaces the value; throws `ShapeError` (and keeps the old value) unless `newValue` is
    /// `rows`×`cols`.
    public func assign(_ newValue: Matrix<Scalar>) throws {
        try checkShape(newValue, "assign")
        _value = newValue
    }

    /// Replaces the gradient; throws `ShapeError` (and keeps the old one) unless `newGradient`
    /// is `rows`×`cols`.
    public func assignGradient(_ newGradient: Matrix<Scalar>) throws {
        try checkShape(newGradient, "assignGradient")
        _gradient = newGradient
    }

    /// Runs `body` on the value in place (an optimizer step, a kernel writing into it). If
    /// `body` changes the shape, the value is reset to zeros of the right shape and this throws
    /// `ShapeError`, so the invariant holds whatever `body` does.
    @inlinable
    public func updateValue<R>(_ body: (inout Matrix<Scalar>) throws -> R) throws -> R {
        let result = try body(&_value)
        if _value.rows != rows || _value.cols != cols { try restoreShape(&_value, "updateValue") }
        return result
    }

    /// Runs `body` on the gradient in place (a backward pass accumulating into it), with the same
    /// guarantee as `updateValue(_:)`.
    @inlinable
    public func updateGradient<R>(_ body: (inout Matrix<Scalar>) throws -> R) throws -> R {
        let result = try body(&_gradient)
        if _gradient.rows != rows || _gradient.cols != cols { try restoreShape(&_gradient, "updateGradient") }
        return result
    }

    /// Runs `body` on the value's elements in place (row-major, `count` of them). The buffer
    /// cannot change size, so this cannot break the shape and does not throw.
    @inlinable
    public func withMutableValueElements<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try _value.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Runs `body` on the gradient's elements in place, like `withMutableValueElements(_:)`.
    @inlinable
    public func withMutableGradientElements<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try _gradient.withUnsafeMutableBufferPointer { try body($0) }
    }

    func checkShape(_ m: Matrix<Scalar>, _ operation: String) throws {
        guard m.rows == rows, m.cols == cols else {
            throw ShapeError("Parameter.\(operation)", "\(name) is \(rows)×\(cols); got \(m.rows)×\(m.cols)")
        }
    }

    @usableFromInline
    func restoreShape(_ m: inout Matrix<Scalar>, _ operation: String) throws {
        let got = (m.rows, m.cols)
        m.reshape(rows: rows, cols: cols)
        m.fill(0)
        throw ShapeError("Parameter.\(operation)", "\(name) is \(rows)×\(cols); the update left it \(got.0)×\(got.1) (reset to zeros)")
    }
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
/// - Shapes that do not fit throw `ShapeError`. A layer that caches activations throws
///   `LayerReuseError` when `x` is not the input of its most recent forward (see
///   `ForwardInputRecord`), e.g. when it appears twice in one forward pass.
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
