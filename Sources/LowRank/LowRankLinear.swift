import PixelflyCore

/// A linear layer whose weight has rank at most r: y = x·Vᵀ·Uᵀ (+ b), W = U·V.
///
/// - V: (rank, in), U: (out, rank), b: (1, out). Parameters r·(in + out) (+ out) instead of
///   in·out; forward FLOPs per row 2·r·(in + out) instead of 2·in·out.
/// - Forward: h = x·Vᵀ (kept in a workspace for the backward), y = h·Uᵀ (+ b).
/// - Backward, with dy = ∂L/∂y:  dU += dyᵀ·h,  db += Σ_rows dy,  dh = dy·U,  dV += dhᵀ·x,
///   dx = dh·V. Five GEMMs, no allocation once the batch size has been seen.
public final class LowRankLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let rank: Int
    /// (out, rank).
    public let u: Parameter<Scalar>
    /// (rank, in).
    public let v: Parameter<Scalar>
    /// (1, out), or nil without bias.
    public let bias: Parameter<Scalar>?

    /// h = x·Vᵀ from the most recent forward, (batch, rank).
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    @usableFromInline var forwardInput = ForwardInputRecord()
    @usableFromInline var hidden = Matrix<Scalar>(rows: 0, cols: 0)
    /// dh = dy·U, (batch, rank); reused across backward calls.
    @usableFromInline var hiddenGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// A layer with freshly drawn factors (see `LowRankInitialization`) and, with `bias`, a bias
    /// drawn like `DenseLinear`'s, U(±1/√in).
    ///
    /// Throws `ShapeError` unless in, out ≥ 1 and 1 ≤ rank ≤ min(in, out).
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, rank: Int, bias: Bool = false,
                            name: String = "lowrank", initialization: LowRankInitialization = .kaimingUniform,
                            rng: inout SeededRandom) throws {
        try Self.validate(inputFeatures: inputFeatures, outputFeatures: outputFeatures, rank: rank, "LowRankLinear.init")
        let (u, v): (Matrix<Scalar>, Matrix<Scalar>) = try initialization.factors(
            inputFeatures: inputFeatures, outputFeatures: outputFeatures, rank: rank, rng: &rng)
        let bound = 1 / Double(inputFeatures).squareRoot()
        let b: Matrix<Scalar>? = bias
            ? Matrix(rows: 1, cols: outputFeatures, initializer: .uniform(low: -bound, high: bound), rng: &rng) : nil
        try self.init(u: u, v: v, bias: b, name: name)
    }

    /// A layer over given factors U (out, rank) and V (rank, in), and an optional (1, out) bias.
    public init(u: Matrix<Scalar>, v: Matrix<Scalar>, bias: Matrix<Scalar>? = nil, name: String = "lowrank") throws {
        guard u.cols == v.rows else {
            throw ShapeError("LowRankLinear.init", "U is \(u.rows)×\(u.cols) and V is \(v.rows)×\(v.cols); U's columns and V's rows (the rank) must agree")
        }
        try Self.validate(inputFeatures: v.cols, outputFeatures: u.rows, rank: u.cols, "LowRankLinear.init")
        if let bias, bias.rows != 1 || bias.cols != u.rows {
            throw ShapeError("LowRankLinear.init", "bias is \(bias.rows)×\(bias.cols); expected 1×\(u.rows)")
        }
        inputFeatures = v.cols
        outputFeatures = u.rows
        rank = u.cols
        self.u = Parameter(name: name + ".u", value: u, weightDecay: true)
        self.v = Parameter(name: name + ".v", value: v, weightDecay: true)
        self.bias = bias.map { Parameter(name: name + ".bias", value: $0, weightDecay: false) }
    }

    /// The best rank-`rank` approximation of a dense (out, in) weight (e.g. a trained
    /// `DenseLinear`), with √σ on both factors; `bias` is copied.
    public convenience init(approximating weight: Matrix<Scalar>, bias: Matrix<Scalar>? = nil, rank: Int,
                            name: String = "lowrank") throws {
        let approximation = try bestRankApproximation(weight, rank: rank)
        try self.init(u: approximation.factors.left, v: approximation.factors.right, bias: bias, name: name)
    }

    static func validate(inputFeatures: Int, outputFeatures: Int, rank: Int, _ operation: String) throws {
        guard inputFeatures >= 1, outputFeatures >= 1 else {
            throw ShapeError(operation, "features must be positive, got in \(inputFeatures), out \(outputFeatures)")
        }
        let maximum = min(inputFeatures, outputFeatures)
        guard rank >= 1, rank <= maximum else {
            throw ShapeError(operation, "rank \(rank) is invalid for \(inputFeatures)→\(outputFeatures); valid ranks are 1...\(maximum) (1 ≤ rank ≤ min(in, out))")
        }
    }

    public var parameters: [Parameter<Scalar>] { [u, v] + (bias.map { [$0] } ?? []) }
    public var forwardFLOPsPerRow: Int { 2 * rank * (inputFeatures + outputFeatures) }

    /// U·V, (out, in).
    public func denseWeight() -> Matrix<Scalar> {
        // Cannot fail: `u` (out×rank) and `v` (rank×in) are `let` parameters, and a `Parameter`
        // keeps its shape.
        try! matmul(u.value, .none, v.value, .none)
    }

    // @inlinable specialises direct calls in the caller's module; @_specialize gives calls
    // through `any LinearLayer<Float>` (generic witness) a Float body instead of generic code.
    @inlinable
    @_specialize(exported: true, where Scalar == Float)
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "LowRankLinear.forward")
        forwardInput.record(x)
        try gemm(x, .none, v.value, .transposed, into: &hidden)
        if let bias {
            y.reshape(rows: x.rows, cols: outputFeatures)
            try broadcastRows(bias.value, into: &y)
            try gemm(hidden, .none, u.value, .transposed, beta: 1, into: &y)
        } else {
            try gemm(hidden, .none, u.value, .transposed, into: &y)
        }
    }

    @inlinable
    @_specialize(exported: true, where Scalar == Float)
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "LowRankLinear.backward")
        guard hidden.rows == x.rows, hidden.cols == rank else {
            throw ShapeError("LowRankLinear.backward", "no forward pass on this \(x.rows)-row input precedes the backward (kept hidden is \(hidden.rows)×\(hidden.cols))")
        }
        try forwardInput.check(x, "LowRankLinear.backward")
        try u.updateGradient { try gemm(dy, .transposed, hidden, .none, beta: 1, into: &$0) }
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        try gemm(dy, .none, u.value, .none, into: &hiddenGradient)
        try v.updateGradient { try gemm(hiddenGradient, .transposed, x, .none, beta: 1, into: &$0) }
        try gemm(hiddenGradient, .none, v.value, .none, into: &dx)
    }
}
