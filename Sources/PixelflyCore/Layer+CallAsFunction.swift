extension Layer {
    /// `y = f(x)`, written into a buffer the caller keeps: `try layer(x, into: &y)`.
    ///
    /// The same as `forward(x, into: &y)`. Once `y` (and the layer's own workspaces) have seen
    /// the batch size, the call allocates nothing — hold on to `y` across calls in a loop:
    ///
    ///     var y = Matrix<Float>(rows: 0, cols: 0)
    ///     for batch in batches { try layer(batch, into: &y) }
    ///
    /// `layer(x)` without `into:` returns a new matrix and so allocates on every call.
    @inlinable
    public func callAsFunction(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try forward(x, into: &y)
    }
}
