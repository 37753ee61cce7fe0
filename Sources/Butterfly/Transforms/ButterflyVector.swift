/// The vector type the kernels compute with: 8 Float lanes or 4 Double lanes (two SSE
/// registers each on the default x86-64 target), or a single scalar for batches of one or two
/// vectors, where padding to 8 lanes would waste the work.
///
/// The kernels are generic over this protocol rather than over `SIMD`: inside a generic
/// `SIMD` body, `*` resolves to the element-by-element default implementation, whereas these
/// witnesses are chosen where the concrete type is known and so use the standard library's
/// vector builtins. That keeps release builds vectorised and debug builds (`swift test`)
/// workable. (In a debug build, SIMD float arithmetic still runs lane by lane; the scalar
/// instantiation is what keeps the n = 2^16 tests quick there.)
protocol ButterflyVector {
    associatedtype Scalar: BinaryFloatingPoint
    static var scalarCount: Int { get }
    init(repeating: Scalar)
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    func sum() -> Scalar
}

extension SIMD8: ButterflyVector where Scalar == Float {}
extension SIMD4: ButterflyVector where Scalar == Double {}

extension Float: ButterflyVector {
    static var scalarCount: Int { 1 }
    init(repeating value: Float) { self = value }
    func sum() -> Float { self }
}

extension Double: ButterflyVector {
    static var scalarCount: Int { 1 }
    init(repeating value: Double) { self = value }
    func sum() -> Double { self }
}
