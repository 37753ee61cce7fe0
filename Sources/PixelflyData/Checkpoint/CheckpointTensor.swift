import PixelflyCore

#if !_endian(little)
#error("checkpoint tensors are stored little-endian and copied as is; this platform is big-endian")
#endif

/// Element types a checkpoint can hold, named as in safetensors.
public enum TensorDType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f64 = "F64"
    /// 64-bit signed integers (block coordinates of an export; PyTorch's `torch.int64`).
    case i64 = "I64"

    public var byteCount: Int { self == .f32 ? 4 : 8 }

    /// The dtype of a scalar type (`Float` → F32, `Double` → F64).
    public static func of<S: TensorScalar>(_: S.Type) -> TensorDType {
        switch S.dtypeName {
        case "F32": .f32
        case "F64": .f64
        // Unreachable: `TensorScalar` is closed to Float and Double (see `SupportedScalarToken`).
        default: preconditionFailure("TensorScalar \(S.self) has no checkpoint dtype (\(S.dtypeName))")
        }
    }
}

/// One named tensor of a checkpoint: dtype, shape and its little-endian element bytes.
public struct CheckpointTensor: Sendable, Equatable {
    public let name: String
    public let dtype: TensorDType
    /// Sizes, outermost first (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// `elementCount · dtype.byteCount` bytes, little-endian, row-major.
    public let bytes: [UInt8]

    /// Throws unless the shape is non-negative and `bytes` holds exactly its elements.
    public init(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) throws {
        guard !name.isEmpty, name != Checkpoint.metadataKey else {
            throw ConfigurationError("CheckpointTensor", "name \(JSONValue.quoted(name)) is reserved or empty")
        }
        guard let elements = Self.elementCount(shape),
              case let (byteCount, false) = elements.multipliedReportingOverflow(by: dtype.byteCount) else {
            throw ShapeError("CheckpointTensor \(name)", "shape \(shape) has a negative size or overflows")
        }
        guard byteCount == bytes.count else {
            throw ShapeError("CheckpointTensor \(name)", "shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes, got \(bytes.count)")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A tensor of shape `shape` holding `values` (row-major).
    public init<S: TensorScalar>(name: String, shape: [Int], values: [S]) throws {
        try self.init(name: name, dtype: .of(S.self), shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    /// A matrix as a tensor of shape `[rows, cols]`.
    public init<S: TensorScalar>(name: String, matrix: Matrix<S>) throws {
        try self.init(name: name, shape: [matrix.rows, matrix.cols], values: matrix.storage)
    }

    public var elementCount: Int { bytes.count / dtype.byteCount }

    /// The elements, row-major; throws unless the dtype is `S`'s.
    public func values<S: TensorScalar>(as _: S.Type = S.self) throws -> [S] {
        guard dtype == .of(S.self) else {
            throw ShapeError("CheckpointTensor \(name)", "holds \(dtype.rawValue) values, requested \(TensorDType.of(S.self).rawValue)")
        }
        return [S](unsafeUninitializedCapacity: elementCount) { buffer, initialized in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            initialized = elementCount
        }
    }

    /// The tensor as a matrix: shape `[r, c]` → r×c, `[n]` → 1×n, `[]` → 1×1.
    public func matrix<S: TensorScalar>(as _: S.Type = S.self) throws -> Matrix<S> {
        let (rows, cols): (Int, Int) = switch shape.count {
        case 0: (1, 1)
        case 1: (1, shape[0])
        case 2: (shape[0], shape[1])
        default: throw ShapeError("CheckpointTensor \(name)", "shape \(shape) has rank \(shape.count); a matrix needs rank ≤ 2")
        }
        return try Matrix(rows: rows, cols: cols, storage: values(as: S.self))
    }

    /// `∏ shape`, or nil if a size is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var product = 1
        for size in shape {
            guard size >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            product = next
        }
        return product
    }
}
