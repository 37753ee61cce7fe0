import LowRank
import PixelflyCore

/// How `PixelflyLinear` combines its sparse and low-rank terms.
public enum PixelflyCombination: String, Sendable, Codable, CaseIterable {
    /// y = x·Sᵀ + x·(UV)ᵀ + b — the paper's W = sparse + low-rank. The default: it is a linear
    /// layer (so `denseWeight()` is exact and a trained dense layer converts into it), and it
    /// costs nothing beyond the two products.
    case sum
    /// y = (1 − g)·x·Sᵀ + g·x·(UV)ᵀ + b with a per-row gate g = σ(x·w + c) — the reference
    /// implementation's combination. Not linear in x; w starts at 0 and c at 0, so g = ½.
    case gated
}

/// Pixelfly: a flat block butterfly sparse term plus a low-rank term plus a bias.
///
/// Initialisation matches a dense layer's output variance (E‖W_i‖² = 1/3 per row for a
/// Kaiming-uniform dense layer): with `.sum` each term carries half of it (sparse share ½, U
/// scaled by √½); with `.gated` and g = ½ at init each term carries twice it, since
/// Var(½s + ½l) = ¼(Var s + Var l). The sparse rows are scaled by their own block counts (see
/// `BlockSparseLinear`). Gate backward, with d = l − s and dy = ∂L/∂y:
///
///     ∂L/∂s = (1 − g)·dy,  ∂L/∂l = g·dy,  ∂L/∂g_i = dy_i·d_i,  ∂L/∂z_i = ∂L/∂g_i · g_i(1 − g_i),
///     dw += ∂L/∂zᵀ·x,  dc += Σ ∂L/∂z,  dx = dx_sparse + dx_lowrank + ∂L/∂z·w.
///
/// The low-rank products are fused into the sum: h = x·Vᵀ once, then h·Uᵀ and dh·V are added
/// by the block-sparse kernel chunk by chunk while that part of y or dx is still in cache.
public final class PixelflyLinear<Scalar: TensorScalar>: LinearLayer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let combination: PixelflyCombination
    /// The block-sparse term (no bias of its own).
    public let sparse: BlockSparseLinear<Scalar>
    /// The low-rank term's factors U (out, r), V (r, in) (no bias of its own).
    public let lowRank: LowRankLinear<Scalar>
    public let bias: Parameter<Scalar>?
    /// Gate weight w (1, in) and offset c (1, 1); nil for `.sum`.
    public let gateWeight: Parameter<Scalar>?
    public let gateBias: Parameter<Scalar>?

    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    @usableFromInline var forwardInput = ForwardInputRecord()
    @usableFromInline var hidden = Matrix<Scalar>(rows: 0, cols: 0)
    @usableFromInline var hiddenGradient = Matrix<Scalar>(rows: 0, cols: 0)
    /// Gated only: s, then d = l − s, the gate g (batch, 1), a scaled output gradient, ∂L/∂z.
    @usableFromInline var sparseOutput = Matrix<Scalar>(rows: 0, cols: 0)
    @usableFromInline var difference = Matrix<Scalar>(rows: 0, cols: 0)
    @usableFromInline var gate = Matrix<Scalar>(rows: 0, cols: 0)
    @usableFromInline var scaledGradient = Matrix<Scalar>(rows: 0, cols: 0)
    @usableFromInline var gateGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// A layer of shape in → out on a flat butterfly mask with a rank-`rank` term.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, mask configuration: FlatButterflyConfiguration,
                            rank: Int, bias: Bool = true, combination: PixelflyCombination = .sum,
                            name: String = "pixelfly", rng: inout SeededRandom) throws {
        let mask = try FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures, configuration: configuration)
        try self.init(mask: mask, rank: rank, bias: bias, combination: combination, name: name, rng: &rng)
    }

    public init(mask: FlatButterflyMask, rank: Int, bias: Bool = true, combination: PixelflyCombination = .sum,
                name: String = "pixelfly", rng: inout SeededRandom) throws {
        inputFeatures = mask.inputFeatures
        outputFeatures = mask.outputFeatures
        self.combination = combination
        let share = combination == .sum ? 0.5 : 2.0
        sparse = try BlockSparseLinear(mask: mask, bias: false, name: name + ".sparse", outputVarianceShare: share, rng: &rng)
        lowRank = try LowRankLinear(mask.inputFeatures, mask.outputFeatures, rank: rank, bias: false,
                                    name: name + ".lowrank", initialization: .kaimingUniform, rng: &rng)
        let uScale = Scalar(share.squareRoot())
        try lowRank.u.assign(lowRank.u.value.map { $0 * uScale })
        let bound = 1 / Double(mask.inputFeatures).squareRoot()
        self.bias = bias ? Parameter(name: name + ".bias",
                                     value: Matrix(rows: 1, cols: mask.outputFeatures, initializer: .uniform(low: -bound, high: bound), rng: &rng),
                                     weightDecay: false) : nil
        gateWeight = combination == .gated
            ? Parameter(name: name + ".gate.weight", value: Matrix(rows: 1, cols: mask.inputFeatures), weightDecay: false) : nil
        gateBias = combination == .gated
            ? Parameter(name: name + ".gate.bias", value: Matrix(rows: 1, cols: 1), weightDecay: false) : nil
    }

    public var parameters: [Parameter<Scalar>] {
        sparse.parameters + lowRank.parameters + [bias, gateWeight, gateBias].compactMap { $0 }
    }

    public var forwardFLOPsPerRow: Int {
        sparse.forwardFLOPsPerRow + lowRank.forwardFLOPsPerRow + (combination == .gated ? 2 * inputFeatures + 3 * outputFeatures : 0)
    }

    /// S + U·V for `.sum`. For `.gated`, (1 − g₀)·S + g₀·U·V with g₀ = σ(c): the layer's weight
    /// for inputs orthogonal to the gate weight (exact for every input while w = 0).
    public func denseWeight() -> Matrix<Scalar> {
        let s = sparse.denseWeight()
        let l = lowRank.denseWeight()
        let g = gateBias.map { Scalar(1) / (1 + Scalar.exp(-$0.value[0, 0])) } ?? Scalar(0.5)
        let (a, b): (Scalar, Scalar) = combination == .sum ? (1, 1) : (1 - g, g)
        // Cannot fail: both parts are `let` layers of shape out×in whose parameters keep their shapes.
        return try! Matrix(rows: s.rows, cols: s.cols, storage: zip(s.storage, l.storage).map { a * $0 + b * $1 })
    }
}
