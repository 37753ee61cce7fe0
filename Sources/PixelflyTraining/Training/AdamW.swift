import CVectorKernels
import PixelflyCore

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's `AdamW`).
///
/// For each parameter θ with gradient g, at step t = 1, 2, … and learning rate η:
///
///     θ ← θ − η·λ·θ                       (only if `parameter.weightDecay`)
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
///     θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
///
/// Norm gains and biases are created with `weightDecay == false` and are never decayed. The
/// moments are kept in buffers allocated once, so a step allocates nothing.
public final class AdamW<Scalar: TensorScalar> {
    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var beta1: Double
        public var beta2: Double
        public var epsilon: Double
        public var weightDecay: Double

        public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.05) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let parameters: [Parameter<Scalar>]
    public let hyperparameters: Hyperparameters
    /// First and second moments, one per parameter, same shapes.
    public internal(set) var firstMoments: [Matrix<Scalar>]
    public internal(set) var secondMoments: [Matrix<Scalar>]
    /// Number of updates taken so far (t of the last update).
    public internal(set) var step: Int = 0

    /// Elements of one parameter updated by one task of `update`'s parallel region.
    @usableFromInline
    struct Piece {
        var parameter: Int
        var range: Range<Int>
    }

    /// Most elements per task: a piece streams 28 bytes per element (value, gradient and moments
    /// in; value and moments out), about 0.9 MB here, far more than claiming a task costs.
    static var elementsPerPiece: Int { 32_768 }

    /// Parameters whose pieces share one parallel region. `update` enters the element scopes of
    /// a region's parameters one inside the other before the region starts, so this bounds that
    /// nesting (and the stack it takes) for models with hundreds of parameters.
    static var parametersPerRegion: Int { 32 }

    /// Every parameter cut into pieces of `elementsPerPiece` elements (the last one shorter),
    /// so every piece starts at a multiple of 16; in parameter order.
    @usableFromInline let pieces: [Piece]
    /// `pieces[firstPiece[i]...]` are parameter i's (one more entry: `pieces.count`).
    @usableFromInline let firstPiece: [Int]
    /// One `ElementPointers` per parameter, filled at each `update`.
    @usableFromInline let pointers: UnsafeMutablePointer<ElementPointers>

    public init(parameters: [Parameter<Scalar>], hyperparameters: Hyperparameters = .init()) throws {
        let h = hyperparameters
        guard (0..<1).contains(h.beta1), (0..<1).contains(h.beta2), h.epsilon > 0, h.weightDecay >= 0 else {
            throw ConfigurationError("AdamW", "need 0 ≤ β₁, β₂ < 1, ε > 0, λ ≥ 0; got β₁ \(h.beta1), β₂ \(h.beta2), ε \(h.epsilon), λ \(h.weightDecay)")
        }
        var seen = Set<String>()
        for p in parameters where !seen.insert(p.name).inserted {
            throw ConfigurationError("AdamW", "parameter name \"\(p.name)\" appears twice; names must be unique")
        }
        self.parameters = parameters
        self.hyperparameters = h
        firstMoments = parameters.map { Matrix(rows: $0.value.rows, cols: $0.value.cols) }
        secondMoments = parameters.map { Matrix(rows: $0.value.rows, cols: $0.value.cols) }
        pieces = parameters.indices.flatMap { index in
            stride(from: 0, to: parameters[index].count, by: Self.elementsPerPiece).map { start in
                Piece(parameter: index, range: start..<min(parameters[index].count, start + Self.elementsPerPiece))
            }
        }
        firstPiece = parameters.indices.reduce(into: [0]) { starts, index in
            starts.append(starts.last! + (parameters[index].count + Self.elementsPerPiece - 1) / Self.elementsPerPiece)
        }
        pointers = .allocate(capacity: max(1, parameters.count))
        pointers.initialize(repeating: ElementPointers(), count: max(1, parameters.count))
    }

    deinit { pointers.deallocate() }

    /// One update of every parameter from its accumulated gradient, in one parallel region per
    /// `parametersPerRegion` parameters whose tasks are their `pieces`, claimed as threads come
    /// free: every element's update is independent, so the result is the same bits on any
    /// thread count.
    @_specialize(exported: true, where Scalar == Float)
    public func update(learningRate: Double) {
        step += 1
        let h = hyperparameters
        let t = Double(step)
        let correction1 = 1 - Double.pow(h.beta1, t)
        let correction2 = 1 - Double.pow(h.beta2, t)
        let coefficients = Coefficients(
            beta1: Scalar(h.beta1), beta2: Scalar(h.beta2), epsilon: Scalar(h.epsilon),
            decay: Scalar(1 - learningRate * h.weightDecay), stepSize: Scalar(learningRate / correction1),
            inverseSqrtCorrection2: Scalar(1 / correction2.squareRoot()))
        firstMoments.withUnsafeMutableBufferPointer { m in
            secondMoments.withUnsafeMutableBufferPointer { v in
                for start in stride(from: 0, to: parameters.count, by: Self.parametersPerRegion) {
                    let end = min(parameters.count, start + Self.parametersPerRegion)
                    withElementPointers(from: start, to: end, firstMoments: m, secondMoments: v) {
                        let first = firstPiece[start]
                        ComputeThreads.parallelFor(firstPiece[end] - first) { task, _ in
                            let piece = pieces[first + task]
                            AdamW.updateElements(pointers.advanced(by: piece.parameter).pointee, range: piece.range,
                                                 coefficients: coefficients,
                                                 decays: parameters[piece.parameter].weightDecay)
                        }
                    }
                }
            }
        }
    }

    /// The step's scalars; `decay` (1 − ηλ) applies to parameters with `weightDecay` only.
    @usableFromInline
    struct Coefficients {
        var beta1, beta2, epsilon, decay, stepSize, inverseSqrtCorrection2: Scalar
    }

    /// Where a parameter's value, gradient and moments are during one `update`.
    @usableFromInline
    struct ElementPointers {
        var value: UnsafeMutablePointer<Scalar>?
        var gradient: UnsafePointer<Scalar>?
        var firstMoment: UnsafeMutablePointer<Scalar>?
        var secondMoment: UnsafeMutablePointer<Scalar>?
    }

    /// Fills `pointers[index ..< end]` inside the element scopes of those parameters and
    /// moments, and runs `body` inside all of them: the parallel region then reaches their
    /// elements without entering a scope of its own (two threads entering
    /// `withMutableValueElements` of one parameter at once would race on its storage).
    @usableFromInline
    func withElementPointers(from index: Int, to end: Int, firstMoments: UnsafeMutableBufferPointer<Matrix<Scalar>>,
                             secondMoments: UnsafeMutableBufferPointer<Matrix<Scalar>>, _ body: () -> Void) {
        guard index < end else { return body() }
        parameters[index].withMutableValueElements { theta in
            parameters[index].gradient.withUnsafeBufferPointer { g in
                firstMoments[index].withUnsafeMutableBufferPointer { m in
                    secondMoments[index].withUnsafeMutableBufferPointer { v in
                        pointers[index] = ElementPointers(value: theta.baseAddress, gradient: g.baseAddress,
                                                          firstMoment: m.baseAddress, secondMoment: v.baseAddress)
                        withElementPointers(from: index + 1, to: end, firstMoments: firstMoments, secondMoments: secondMoments, body)
                    }
                }
            }
        }
    }

    /// One piece of one parameter: Float through `pixelfly_adamw_f32` (AVX-512F or AVX2+FMA
    /// bodies chosen at run time; the Swift loop, built for baseline x86-64, ran one element at a
    /// time: about 3.7 ms of a 62 ms Pixelfly Mixer step for 2.3 M parameters on Zen 5, from a
    /// perf profile of 150 steps; notebooks-md/kernel-passes/07-gelu-in-kernels.md), Double in
    /// Swift. Pieces start at multiples of 16 elements, so every element meets the same vector
    /// body (and the same scalar tail) as in one call over the whole parameter.
    @usableFromInline
    static func updateElements(_ p: ElementPointers, range: Range<Int>, coefficients c: Coefficients, decays: Bool) {
        guard let theta = p.value, let g = p.gradient, let m = p.firstMoment, let v = p.secondMoment else { return }
        let decay = decays ? c.decay : 1
        let i = range.lowerBound
        if Scalar.self == Float.self {
            var constants = pixelfly_adamw_constants(
                beta1: Float(c.beta1), beta2: Float(c.beta2), epsilon: Float(c.epsilon), decay: Float(decay),
                step_size: Float(c.stepSize), inverse_sqrt_correction2: Float(c.inverseSqrtCorrection2))
            pixelfly_adamw_f32(UnsafeMutableRawPointer(theta + i).assumingMemoryBound(to: Float.self),
                               UnsafeRawPointer(g + i).assumingMemoryBound(to: Float.self),
                               UnsafeMutableRawPointer(m + i).assumingMemoryBound(to: Float.self),
                               UnsafeMutableRawPointer(v + i).assumingMemoryBound(to: Float.self), range.count, &constants)
            return
        }
        for i in range {
            let gi = g[i]
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * gi
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * gi * gi
            let denominator = v[i].squareRoot() * c.inverseSqrtCorrection2 + c.epsilon
            theta[i] = theta[i] * decay - c.stepSize * m[i] / denominator
        }
    }

    /// Restores moments and step (from a checkpoint); shapes must match the parameters.
    public func restore(step: Int, firstMoments: [Matrix<Scalar>], secondMoments: [Matrix<Scalar>]) throws {
        guard step >= 0, firstMoments.count == parameters.count, secondMoments.count == parameters.count else {
            throw ShapeError("AdamW.restore", "need step ≥ 0 and \(parameters.count) moments of each kind; got step \(step), \(firstMoments.count) and \(secondMoments.count)")
        }
        for (i, p) in parameters.enumerated() {
            for moment in [firstMoments[i], secondMoments[i]] where moment.rows != p.value.rows || moment.cols != p.value.cols {
                throw ShapeError("AdamW.restore", "moment for \(p.name) is \(moment.rows)×\(moment.cols); the parameter is \(p.value.rows)×\(p.value.cols)")
            }
        }
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
