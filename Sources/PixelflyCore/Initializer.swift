/// Seeded weight initialisers.
///
/// For a weight of shape (out, in), `fanIn = in`. Kaiming-uniform with negative slope `a` draws
/// from U(−bound, bound) with `bound = gain · √(3 / fanIn)` and `gain = √(2 / (1 + a²))`;
/// PyTorch's `nn.Linear` default is `a = √5`, i.e. `bound = 1/√fanIn`, and is the default here.
public enum Initializer: Sendable, Equatable {
    case zeros
    case constant(Double)
    case uniform(low: Double, high: Double)
    case normal(mean: Double, standardDeviation: Double)
    /// Kaiming (He) uniform for a ReLU-family layer with leaky slope `a`.
    case kaimingUniform(a: Double)
    /// Kaiming normal: N(0, gain² / fanIn).
    case kaimingNormal(a: Double)

    /// PyTorch's `nn.Linear` weight default.
    public static let linearDefault = Initializer.kaimingUniform(a: 5.0.squareRoot())

    /// Fills `count` values; `fanIn` is used by the Kaiming variants. Package-only: `count` is
    /// a size the package has checked (a negative one traps); users draw through
    /// `Matrix(validatingRows:cols:initializer:fanIn:rng:)`.
    ///
    /// Specialised for Float and Double: called unspecialised from another module, the
    /// per-element generic conversion cost about a microsecond per value.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    package func values<S: TensorScalar>(count: Int, fanIn: Int, using rng: inout SeededRandom) -> [S] {
        let gain: (Double) -> Double = { a in (2 / (1 + a * a)).squareRoot() }
        let fan = Double(max(fanIn, 1))
        switch self {
        case .zeros:
            return Array(repeating: 0, count: count)
        case .constant(let v):
            return Array(repeating: S(v), count: count)
        case .uniform(let low, let high):
            return (0..<count).map { _ in S(rng.uniform(low, high)) }
        case .normal(let mean, let sd):
            return (0..<count).map { _ in S(rng.normal(mean: mean, standardDeviation: sd)) }
        case .kaimingUniform(let a):
            let bound = gain(a) * (3 / fan).squareRoot()
            return (0..<count).map { _ in S(rng.uniform(-bound, bound)) }
        case .kaimingNormal(let a):
            let sd = gain(a) / fan.squareRoot()
            return (0..<count).map { _ in S(rng.normal(standardDeviation: sd)) }
        }
    }
}

extension Matrix {
    /// A `rows`×`cols` matrix drawn from `initializer` with `fanIn = cols` (a weight stored as
    /// (out, in)) unless given; throws `ShapeError` if a size is negative or `rows * cols`
    /// overflows.
    public init(validatingRows rows: Int, cols: Int, initializer: Initializer, fanIn: Int? = nil,
                rng: inout SeededRandom) throws {
        try Self.validate(rows: rows, cols: cols, "Matrix.init")
        self.init(rows: rows, cols: cols, initializer: initializer, fanIn: fanIn, rng: &rng)
    }

    /// `init(validatingRows:cols:initializer:fanIn:rng:)` for sizes the package has already
    /// checked: package-only, and a negative size traps (see `init(rows:cols:repeating:)`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package init(rows: Int, cols: Int, initializer: Initializer, fanIn: Int? = nil, rng: inout SeededRandom) {
        self.init(rows: rows, cols: cols)
        let values: [Scalar] = initializer.values(count: rows * cols, fanIn: fanIn ?? cols, using: &rng)
        withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] = values[i] }
        }
    }
}
