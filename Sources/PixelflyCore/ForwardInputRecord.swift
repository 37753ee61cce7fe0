/// Which input a layer's cached activations belong to, so that a backward pass on another
/// input throws instead of silently using the wrong activations.
///
/// A layer that keeps intermediates of its most recent forward (`LowRankLinear`'s x·Vᵀ, the
/// butterfly stages, …) records the input's buffer (address and shape) in `forward` and checks
/// it in `backward`. Used twice in one forward pass (weight sharing), such a layer's cache holds
/// only the second use, so the backward of the first use fails here with a `LayerReuseError`.
/// Layers whose backward needs only `x` and the weights (dense, block-sparse) keep no record and
/// support reuse. The check is identity, not contents: pass `backward` the same `Matrix` value
/// (or a copy of it — copies share the buffer) that went into `forward`.
public struct ForwardInputRecord: Sendable {
    @usableFromInline var address: UInt = 0
    @usableFromInline var rows = -1
    @usableFromInline var cols = -1

    public init() {}

    /// Remembers `x` as the input of the most recent forward.
    @inlinable
    public mutating func record<S>(_ x: Matrix<S>) {
        address = x.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        rows = x.rows
        cols = x.cols
    }

    /// Throws `LayerReuseError` unless `x` is the recorded input.
    @inlinable
    public func check<S>(_ x: Matrix<S>, _ operation: String) throws {
        let current = x.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        guard x.rows == rows, x.cols == cols, current == address || x.count == 0 else {
            throw LayerReuseError(operation, recorded: rows < 0 ? nil : (rows, cols), got: (x.rows, x.cols))
        }
    }
}

/// `backward` got an input other than the one of the layer's most recent `forward`: its cached
/// activations belong to another input (the layer was used twice in one forward pass, or
/// backward was called without a forward).
public struct LayerReuseError: Error, CustomStringConvertible, Equatable, Sendable {
    public let operation: String
    public let message: String

    public init(_ operation: String, recorded: (Int, Int)?, got: (Int, Int)) {
        self.operation = operation
        let last = recorded.map { "a \($0.0)×\($0.1) input" } ?? "no input (no forward yet)"
        self.message = "backward input (\(got.0)×\(got.1)) is not the input of this layer's most recent forward (\(last)); "
            + "this layer caches activations, so it cannot appear twice in one forward pass (weight sharing): "
            + "use a separate layer per use, or run forward again on this input before its backward"
    }

    public var description: String { "\(operation): \(message)" }
}
