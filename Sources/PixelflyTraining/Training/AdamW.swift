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
    }

    /// One update of every parameter from its accumulated gradient.
    @_specialize(exported: true, where Scalar == Float)
    public func update(learningRate: Double) {
        step += 1
        let h = hyperparameters
        let t = Double(step)
        let correction1 = 1 - Double.pow(h.beta1, t)
        let correction2 = 1 - Double.pow(h.beta2, t)
        for index in parameters.indices {
            let parameter = parameters[index]
            let decay = parameter.weightDecay ? Scalar(1 - learningRate * h.weightDecay) : 1
            parameter.withMutableValueElements { theta in
                AdamW.updateOne(value: theta, gradient: parameter.gradient,
                                m: &firstMoments[index], v: &secondMoments[index],
                                decay: decay, beta1: Scalar(h.beta1), beta2: Scalar(h.beta2),
                                stepSize: Scalar(learningRate / correction1),
                                inverseSqrtCorrection2: Scalar(1 / correction2.squareRoot()),
                                epsilon: Scalar(h.epsilon))
            }
        }
    }

    /// The per-element loop, split over `ComputeThreads` for large parameters: Float through
    /// `pixelfly_adamw_f32` (AVX-512F or AVX2+FMA bodies chosen at run time; the Swift loop,
    /// built for baseline x86-64, ran one element at a time: about 3.7 ms of a 62 ms Pixelfly
    /// Mixer step for 2.3 M parameters on Zen 5, from a perf profile of 150 steps;
    /// notebooks-md/kernel-passes/07-gelu-in-kernels.md), Double in Swift.
    @usableFromInline
    static func updateOne(value theta: UnsafeMutableBufferPointer<Scalar>, gradient: Matrix<Scalar>,
                          m: inout Matrix<Scalar>, v: inout Matrix<Scalar>,
                          decay: Scalar, beta1: Scalar, beta2: Scalar, stepSize: Scalar,
                          inverseSqrtCorrection2: Scalar, epsilon: Scalar) {
        gradient.withUnsafeBufferPointer { g in
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    if Scalar.self == Float.self, let t = theta.baseAddress, let gp = g.baseAddress,
                       let mp = m.baseAddress, let vp = v.baseAddress {
                        let constants = pixelfly_adamw_constants(
                            beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon), decay: Float(decay),
                            step_size: Float(stepSize), inverse_sqrt_correction2: Float(inverseSqrtCorrection2))
                        let (tf, gf, mf, vf) = (UnsafeMutableRawPointer(t).assumingMemoryBound(to: Float.self),
                                                UnsafeRawPointer(gp).assumingMemoryBound(to: Float.self),
                                                UnsafeMutableRawPointer(mp).assumingMemoryBound(to: Float.self),
                                                UnsafeMutableRawPointer(vp).assumingMemoryBound(to: Float.self))
                        withUnsafePointer(to: constants) { c in
                            ComputeThreads.parallelRanges(theta.count, minimumLength: 32_768) { range in
                                let i = range.lowerBound
                                pixelfly_adamw_f32(tf + i, gf + i, mf + i, vf + i, range.count, c)
                            }
                        }
                        return
                    }
                    ComputeThreads.parallelRanges(theta.count, minimumLength: 32_768) { range in
                        for i in range {
                            let gi = g[i]
                            m[i] = beta1 * m[i] + (1 - beta1) * gi
                            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
                            let denominator = (v[i]).squareRoot() * inverseSqrtCorrection2 + epsilon
                            theta[i] = theta[i] * decay - stepSize * m[i] / denominator
                        }
                    }
                }
            }
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
