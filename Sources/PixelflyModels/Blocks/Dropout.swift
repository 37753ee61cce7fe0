import PixelflyCore

/// Inverted dropout with its own seeded random source.
///
/// Training: each element is kept with probability 1 − p and scaled by 1/(1 − p), so the
/// expected output equals the input: y = x ⊙ m, m_i ∈ {0, 1/(1 − p)}. Evaluation
/// (`isTraining == false`) and p = 0: y = x. Backward: ∂L/∂x = ∂L/∂y ⊙ m (the identity in
/// evaluation). A fixed seed gives the same mask sequence on every run.
///
/// `freezesMask` makes training-mode forwards reuse the previous mask instead of drawing a new
/// one (for finite-difference checks, which evaluate the same function many times).
public final class Dropout<Scalar: TensorScalar>: Layer {
    public let probability: Double
    public var isTraining = true
    public var freezesMask = false
    private var random: SeededRandom
    /// The mask m of the most recent training-mode forward pass.
    /// The input of the most recent forward (its activations are cached); see `ForwardInputRecord`.
    var forwardInput = ForwardInputRecord()
    private var mask = Matrix<Scalar>(rows: 0, cols: 0)

    public init(probability: Double, seed: UInt64) throws {
        guard probability >= 0, probability < 1 else {
            throw ConfigurationError("Dropout.init", "probability must be in [0, 1), got \(probability)")
        }
        self.probability = probability
        random = SeededRandom(seed: seed)
    }

    public var parameters: [Parameter<Scalar>] { [] }

    private var isIdentity: Bool { !isTraining || probability == 0 }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        forwardInput.record(x)
        x.copy(into: &y)
        if isIdentity { return }
        if !freezesMask || mask.rows != x.rows || mask.cols != x.cols { drawMask(rows: x.rows, cols: x.cols) }
        try multiplyByMask(&y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        guard dy.rows == x.rows, dy.cols == x.cols else {
            throw ShapeError("Dropout.backward", "output gradient is \(dy.rows)×\(dy.cols); the input is \(x.rows)×\(x.cols)")
        }
        if !isIdentity { try forwardInput.check(x, "Dropout.backward") }
        dy.copy(into: &dx)
        if isIdentity { return }
        try multiplyByMask(&dx)
    }

    private func drawMask(rows: Int, cols: Int) {
        mask.ensureShape(rows: rows, cols: cols)
        mask.withUnsafeMutableBufferPointer { m in
            guard let base = m.baseAddress else { return }
            BlockKernels.bernoulliMask(base, count: m.count, keep: 1 - probability, random: &random)
        }
    }

    private func multiplyByMask(_ target: inout Matrix<Scalar>) throws {
        guard mask.rows == target.rows, mask.cols == target.cols else {
            throw ShapeError("Dropout.backward", "the last mask is \(mask.rows)×\(mask.cols) but the gradient is "
                + "\(target.rows)×\(target.cols); call forward on this input first")
        }
        mask.withUnsafeBufferPointer { m in
            target.withUnsafeMutableBufferPointer { t in
                guard let factors = m.baseAddress, let values = t.baseAddress else { return }
                BlockKernels.multiply(values, by: factors, count: t.count)
            }
        }
    }
}
