import PixelflyCore

/// Buffer helpers and the residual connection, all reusing the caller's storage.
extension Matrix {
    /// Gives the matrix the shape `rows`×`cols` if it does not have it (contents unspecified
    /// after a change). Shrinking reuses capacity; growing allocates a fresh zeroed matrix,
    /// because `Matrix.reshape` grows by appending through unspecialised generic code (measured
    /// at about 1 µs per element in release builds — seconds for a first attention step).
    @inlinable
    package mutating func ensureShape(rows: Int, cols: Int) {
        guard self.rows != rows || self.cols != cols else { return }
        if rows * cols > count {
            self = Matrix(rows: rows, cols: cols)
        } else {
            reshape(rows: rows, cols: cols)
        }
    }

    /// Gives the matrix the shape `rows`×`cols` and sets every element to 0 (all-zero bits are
    /// +0 in IEEE 754, so a byte fill does it without per-element generic code).
    @inlinable
    mutating func setZero(rows: Int, cols: Int) {
        ensureShape(rows: rows, cols: cols)
        withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0,
                                                           count: buffer.count * MemoryLayout<Scalar>.stride)
        }
    }

    /// Copies this matrix into `target`, reusing the target's capacity (plain assignment would
    /// share storage and allocate on the next write). A byte copy, so unspecialised generic
    /// callers do not pay per element.
    @inlinable
    func copy(into target: inout Matrix) {
        target.ensureShape(rows: rows, cols: cols)
        withUnsafeBufferPointer { source in
            target.withUnsafeMutableBufferPointer { destination in
                guard let from = source.baseAddress, let to = destination.baseAddress else { return }
                UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: source.count * MemoryLayout<Scalar>.stride)
            }
        }
    }
}

/// The residual connection `y += x` (the skip path of `x + f(x)`). Its backward is the identity
/// on both branches: ∂L/∂x receives ∂L/∂y unchanged in addition to whatever flows through f.
public func addResidual<Scalar: TensorScalar>(_ x: Matrix<Scalar>, to y: inout Matrix<Scalar>) throws {
    guard x.rows == y.rows, x.cols == y.cols else {
        throw ShapeError("addResidual", "the skip input is \(x.rows)×\(x.cols) but the branch output is \(y.rows)×\(y.cols)")
    }
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            guard let source = px.baseAddress, let target = py.baseAddress else { return }
            // Split over the compute threads: one `axpy` on the calling thread was 1.4 % of a
            // Pixelfly Mixer step while the other thread waited
            // (notebooks-md/kernel-passes/07-gelu-in-kernels.md).
            ComputeThreads.parallelRanges(px.count, minimumLength: 65_536) { range in
                Scalar.axpy(count: range.count, alpha: 1, x: source + range.lowerBound, y: target + range.lowerBound)
            }
        }
    }
}
