/// A dense row-major matrix: element (i, j) is `storage[i * cols + j]`.
///
/// A value type over `[Scalar]` (copy on write). Kernels write into an `inout Matrix` that the
/// caller owns, and reshaping reuses the existing capacity, so a training step that
/// keeps its buffers allocates nothing once their sizes have been seen.
public struct Matrix<Scalar: TensorScalar>: Equatable, Sendable {
    public private(set) var rows: Int {
        get { _rows }
        set { _rows = newValue }
    }
    public private(set) var cols: Int {
        get { _cols }
        set { _cols = newValue }
    }
    @usableFromInline var _rows: Int
    @usableFromInline var _cols: Int
    /// Row-major elements; `count == rows * cols` always.
    @usableFromInline var _storage: [Scalar]

    /// Row-major elements (read-only; mutate through subscripts or the buffer pointer).
    @inlinable public var storage: [Scalar] { _storage }

    /// An empty 0×0 matrix: a caller-owned output buffer that a layer or product sizes on its
    /// first call (`try layer(x, into: &y)`) and reuses afterwards.
    @inlinable
    public init() {
        self._rows = 0
        self._cols = 0
        self._storage = []
    }

    /// A `rows`×`cols` matrix filled with `value`, for the library's own sizes.
    ///
    /// Package-only and non-throwing: sizes here come from shapes the package has already
    /// checked (a layer's features, an input's rows), so a negative size is a bug in this
    /// package and traps, as `Array(repeating:count:)` does. The public form is
    /// `init(validatingRows:cols:repeating:)`, which throws.
    ///
    /// The fill is byte copies (a `memset` for +0, else the first element copied in doubling
    /// runs), not `Array(repeating:count:)`: called from unspecialised generic code (a layer of
    /// another module allocating its buffers on the first step or when an evaluation batch
    /// changes the shape), that copied every element through the type's value witness: about
    /// 40 ms of the default Mixer's first step and 170 ms of each evaluation in perf samples on
    /// the Intel Xeon of notebooks-md/kernel-passes/49-token-mixing-weight-gradients.md.
    @usableFromInline
    package init(rows: Int, cols: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(cols)")
        self._rows = rows
        self._cols = cols
        let count = rows * cols
        self._storage = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { Self.fill(buffer.baseAddress!, count: count, with: value) }
            initialized = count
        }
    }

    /// Initialises `count` elements at `base` to `value` with byte operations only (element types
    /// are trivial floating-point scalars), so unspecialised callers pay no per-element dispatch.
    private static func fill(_ base: UnsafeMutablePointer<Scalar>, count: Int, with value: Scalar) {
        let stride = MemoryLayout<Scalar>.stride
        if value == 0 && value.sign == .plus {
            UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: count * stride)
            return
        }
        base.initialize(to: value)
        var done = 1
        while done < count {
            let run = min(done, count - done)
            UnsafeMutableRawPointer(base + done).copyMemory(from: base, byteCount: run * stride)
            done += run
        }
    }

    /// A `rows`×`cols` matrix filled with `value` (zeros by default); throws `ShapeError` if a
    /// size is negative or `rows * cols` overflows.
    ///
    /// ```swift
    /// var x = try Matrix<Float>(validatingRows: 256, cols: 1024)
    /// ```
    public init(validatingRows rows: Int, cols: Int, repeating value: Scalar = 0) throws {
        try Self.validate(rows: rows, cols: cols, "Matrix.init")
        self.init(rows: rows, cols: cols, repeating: value)
    }

    /// A matrix over existing row-major elements; throws unless `storage.count == rows * cols`.
    public init(rows: Int, cols: Int, storage: [Scalar]) throws {
        try Self.validate(rows: rows, cols: cols, "Matrix.init")
        guard storage.count == rows * cols else {
            throw ShapeError("Matrix.init", "\(rows)×\(cols) needs \(rows * cols) elements, got \(storage.count)")
        }
        self._rows = rows
        self._cols = cols
        self._storage = storage
    }

    /// A matrix from nested rows (tests and examples); throws if the rows are ragged.
    public init(_ nested: [[Scalar]]) throws {
        let cols = nested.first?.count ?? 0
        guard nested.allSatisfy({ $0.count == cols }) else {
            throw ShapeError("Matrix.init", "rows have different lengths: \(nested.map(\.count))")
        }
        try self.init(rows: nested.count, cols: cols, storage: nested.flatMap { $0 })
    }

    /// Throws `ShapeError` unless `rows`, `cols` ≥ 0 and `rows * cols` fits in an `Int`.
    static func validate(rows: Int, cols: Int, _ operation: String) throws {
        guard rows >= 0, cols >= 0 else {
            throw ShapeError(operation, "dimensions must be non-negative, got \(rows)×\(cols)")
        }
        guard !rows.multipliedReportingOverflow(by: cols).overflow,
              !(rows * cols).multipliedReportingOverflow(by: MemoryLayout<Scalar>.stride).overflow else {
            throw ShapeError(operation, "\(rows)×\(cols) elements overflow the address space")
        }
    }

    public var count: Int { rows * cols }
    public var shape: (rows: Int, cols: Int) { (rows, cols) }

    @inlinable
    public subscript(row: Int, col: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "index (\(row), \(col)) outside \(rows)×\(cols)")
            return _storage[row * cols + col]
        }
        set {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "index (\(row), \(col)) outside \(rows)×\(cols)")
            _storage[row * cols + col] = newValue
        }
    }

    /// Changes the shape to `rows`×`cols`. Contents are unspecified afterwards unless the
    /// element count is unchanged (then they are kept, re-read in the new shape).
    ///
    /// Same count: no allocation. A different count gets a fresh zeroed buffer (one `memset`,
    /// fast even when called from unspecialised generic code, where growing an array element
    /// by element cost about a microsecond per element). Kernels keep their buffers at a fixed
    /// size in the steady state, so this allocates only when a shape changes.
    ///
    /// Package-only, like `init(rows:cols:repeating:)`: a negative size is a bug in this package
    /// and traps. The public form is `reshape(validatingRows:cols:)`, which throws.
    @usableFromInline
    package mutating func reshape(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(cols)")
        let newCount = rows * cols
        if newCount != _storage.count {
            _storage = Array(unsafeUninitializedCapacity: newCount) { buffer, initialized in
                if newCount > 0 {
                    UnsafeMutableRawPointer(buffer.baseAddress!).initializeMemory(as: UInt8.self, repeating: 0,
                                                                                 count: newCount * MemoryLayout<Scalar>.stride)
                }
                initialized = newCount
            }
        }
        self._rows = rows
        self._cols = cols
    }

    /// Changes the shape to `rows`×`cols` (contents unspecified unless the element count is
    /// unchanged; no allocation when it is); throws `ShapeError` (leaving the matrix unchanged)
    /// if a size is negative or the element count overflows.
    public mutating func reshape(validatingRows rows: Int, cols: Int) throws {
        try Self.validate(rows: rows, cols: cols, "Matrix.reshape")
        reshape(rows: rows, cols: cols)
    }

    /// Sets every element to `value`.
    @inlinable
    public mutating func fill(_ value: Scalar) {
        _storage.withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try _storage.withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try _storage.withUnsafeMutableBufferPointer(body)
    }

    /// Row `i` as an array (tests and printing; allocates).
    public func row(_ i: Int) -> [Scalar] {
        Array(storage[(i * cols)..<((i + 1) * cols)])
    }

    /// The transpose, materialised.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed() -> Matrix {
        var result = Matrix(rows: cols, cols: rows)
        for i in 0..<rows {
            for j in 0..<cols { result._storage[j * rows + i] = storage[i * cols + j] }
        }
        return result
    }

    /// Element-wise conversion to another scalar type (e.g. Float → Double for references).
    @_specialize(where Scalar == Float, T == Double)
    @_specialize(where Scalar == Double, T == Float)
    public func converted<T: TensorScalar>(to: T.Type = T.self) -> Matrix<T> {
        // The element count is right by construction.
        try! Matrix<T>(rows: rows, cols: cols, storage: storage.map { T($0) })
    }

    /// Applies `transform` to every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func map(_ transform: (Scalar) -> Scalar) -> Matrix {
        try! Matrix(rows: rows, cols: cols, storage: storage.map(transform))
    }

    /// Largest absolute element difference; throws if the shapes differ.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func maxAbsDifference(_ other: Matrix) throws -> Scalar {
        guard rows == other.rows, cols == other.cols else {
            throw ShapeError("Matrix.maxAbsDifference", "shapes \(rows)×\(cols) and \(other.rows)×\(other.cols) differ")
        }
        var worst: Scalar = 0
        for (a, b) in zip(storage, other.storage) { worst = Swift.max(worst, abs(a - b)) }
        return worst
    }

    /// Frobenius norm, accumulated in Double.
    public var frobeniusNorm: Double {
        var sum = 0.0
        for v in storage { sum += Double(v) * Double(v) }
        return sum.squareRoot()
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let shown = (0..<Swift.min(rows, 6)).map { i in
            (0..<Swift.min(cols, 8)).map { j in "\(self[i, j])" }.joined(separator: " ")
                + (cols > 8 ? " …" : "")
        }
        return "Matrix<\(Scalar.self)> \(rows)×\(cols)\n" + shown.joined(separator: "\n") + (rows > 6 ? "\n…" : "")
    }
}

/// `body` with the element pointer of `matrix`, or with nil when there is no matrix (an optional
/// operand of a kernel: a bias, a skip gradient).
@inlinable
package func withOptionalPointer<Scalar: TensorScalar, R>(_ matrix: Matrix<Scalar>?, _ body: (UnsafePointer<Scalar>?) -> R) -> R {
    guard let matrix else { return body(nil) }
    return matrix.withUnsafeBufferPointer { body($0.baseAddress) }
}
