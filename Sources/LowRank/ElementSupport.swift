import PixelflyCore

/// The entries of an m×n matrix that a sparse term may occupy (true = allowed), row-major.
///
/// Independent of how the pattern was made: build it from a flat block butterfly layout with
/// `ElementSupport(rows:cols:contains:)` and a closure asking the layout about (row, col).
public struct ElementSupport: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major: entry (i, j) is `mask[i * cols + j]`.
    public let mask: [Bool]

    /// Throws `ShapeError` unless `mask.count == rows * cols`.
    public init(rows: Int, cols: Int, mask: [Bool]) throws {
        guard rows >= 0, cols >= 0, mask.count == rows * cols else {
            throw ShapeError("ElementSupport.init", "a \(rows)×\(cols) support needs \(max(rows, 0) * max(cols, 0)) mask entries, got \(mask.count)")
        }
        self.rows = rows
        self.cols = cols
        self.mask = mask
    }

    /// The support {(i, j) : contains(i, j)}.
    public init(rows: Int, cols: Int, contains: (_ row: Int, _ col: Int) throws -> Bool) throws {
        guard rows >= 0, cols >= 0 else {
            throw ShapeError("ElementSupport.init", "dimensions must be non-negative, got \(rows)×\(cols)")
        }
        var mask: [Bool] = []
        mask.reserveCapacity(rows * cols)
        for i in 0..<rows { for j in 0..<cols { mask.append(try contains(i, j)) } }
        try self.init(rows: rows, cols: cols, mask: mask)
    }

    public subscript(row: Int, col: Int) -> Bool { mask[row * cols + col] }

    /// Number of allowed entries.
    public var count: Int { mask.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Allowed entries ÷ all entries.
    public var density: Double { mask.isEmpty ? 0 : Double(count) / Double(mask.count) }

    /// mask ⊙ m: `m` with every entry outside the support set to zero.
    public func restrict<Scalar: TensorScalar>(_ m: Matrix<Scalar>) throws -> Matrix<Scalar> {
        guard m.rows == rows, m.cols == cols else {
            throw ShapeError("ElementSupport.restrict", "matrix is \(m.rows)×\(m.cols); the support is \(rows)×\(cols)")
        }
        return try Matrix(rows: rows, cols: cols, storage: zip(m.storage, mask).map { $1 ? $0 : 0 })
    }
}
