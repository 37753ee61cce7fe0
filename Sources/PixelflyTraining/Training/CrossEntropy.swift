import PixelflyCore
import RealModule

/// Softmax cross-entropy with label smoothing, averaged over the rows of a logits matrix.
///
/// For logits z (N×C), label y and smoothing ε, the target distribution is
/// q = (1 − ε)·onehot(y) + ε/C and, with p = softmax(z),
///
///     L = (1/N) Σ_rows [ logsumexp(z) − Σ_j q_j·z_j ],     ∂L/∂z = (p − q) / N.
///
/// The softmax is shifted by the row maximum, so large logits do not overflow; the loss is
/// accumulated in Double, in row order, while the rows run on the compute threads. Labels are
/// class indices in `0..<C` (for a language model, the next token of every position).
public struct SoftmaxCrossEntropy: Codable, Sendable, Equatable {
    /// ε in [0, 1): the probability mass spread uniformly over all classes.
    public var labelSmoothing: Double

    public init(labelSmoothing: Double = 0) throws {
        guard labelSmoothing >= 0, labelSmoothing < 1 else {
            throw ConfigurationError("SoftmaxCrossEntropy", "label smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        self.labelSmoothing = labelSmoothing
    }

    /// Mean loss over the rows of `logits`; writes ∂L/∂logits into `gradient` (reshaped).
    /// Throws if `labels` has a count other than `logits.rows` or holds a class outside `0..<C`.
    @inlinable
    public func lossAndGradient<Scalar: TensorScalar>(
        logits: Matrix<Scalar>, labels: [Int], gradient: inout Matrix<Scalar>
    ) throws -> Double {
        try check(logits: logits, labels: labels)
        gradient.reshape(rows: logits.rows, cols: logits.cols)
        let (rows, classes) = (logits.rows, logits.cols)
        let smoothing = Scalar(labelSmoothing)
        let offTarget = smoothing / Scalar(classes)
        let onTarget = 1 - smoothing + offTarget
        let rowScale = 1 / Scalar(rows)
        return logits.withUnsafeBufferPointer { logitElements in
            gradient.withUnsafeMutableBufferPointer { gradientElements in
                let (z, g) = (logitElements.baseAddress!, gradientElements.baseAddress!)
                return withUnsafeTemporaryAllocation(of: Double.self, capacity: rows) { rowLosses in
                    ComputeThreads.forEachPart(items: rows, work: rows * classes,
                                               minimumPerPart: Self.logitsPerThread) { range, _, _ in
                        for i in range {
                            rowLosses[i] = Self.rowLossAndGradient(z + i * classes, g + i * classes, classes: classes,
                                                                   target: labels[i], onTarget: onTarget,
                                                                   offTarget: offTarget, rowScale: rowScale)
                        }
                    }
                    var total = 0.0
                    for i in 0..<rows { total += rowLosses[i] }
                    return total / Double(rows)
                }
            }
        }
    }

    /// Least logits per thread: rows are split over the compute threads (each row's loss and
    /// gradient are independent), and the row losses summed in row order afterwards, so the
    /// result is the same bits on any thread count. A language model's 1024 rows × 256 classes
    /// (about 1 ms on one thread) take two parts; a classifier's 64 × 10 stay on one.
    @usableFromInline
    static var logitsPerThread: Int { 16_384 }

    /// One row: g ← ∂L_row/∂z · (1/N) (`rowScale` = 1/N) and the row's loss
    /// logsumexp(z) − Σ_j q_j·z_j, computed on z shifted by its maximum.
    @inlinable
    static func rowLossAndGradient<Scalar: TensorScalar>(
        _ z: UnsafePointer<Scalar>, _ g: UnsafeMutablePointer<Scalar>, classes: Int, target: Int,
        onTarget: Scalar, offTarget: Scalar, rowScale: Scalar
    ) -> Double {
        var maximum = z[0]
        for j in 1..<classes { maximum = max(maximum, z[j]) }
        var sum: Scalar = 0
        var weighted: Scalar = 0 // Σ q_j (z_j − max)
        for j in 0..<classes {
            let shifted = z[j] - maximum
            let e = Scalar.exp(shifted)
            g[j] = e
            sum += e
            weighted += offTarget * shifted
        }
        weighted += (onTarget - offTarget) * (z[target] - maximum)
        let inverse = rowScale / sum
        for j in 0..<classes { g[j] = g[j] * inverse - offTarget * rowScale }
        g[target] -= (onTarget - offTarget) * rowScale
        return Double(Scalar.log(sum)) - Double(weighted)
    }

    /// Mean loss only (evaluation); `scratch` is the gradient buffer, reused.
    @inlinable
    public func loss<Scalar: TensorScalar>(logits: Matrix<Scalar>, labels: [Int],
                                           scratch: inout Matrix<Scalar>) throws -> Double {
        try lossAndGradient(logits: logits, labels: labels, gradient: &scratch)
    }

    @inlinable
    func check<Scalar: TensorScalar>(logits: Matrix<Scalar>, labels: [Int]) throws {
        guard logits.rows > 0, logits.cols > 0 else {
            throw ShapeError("SoftmaxCrossEntropy", "logits are \(logits.rows)×\(logits.cols); need at least one row and one class")
        }
        guard labels.count == logits.rows else {
            throw ShapeError("SoftmaxCrossEntropy", "\(labels.count) labels for \(logits.rows) rows of logits")
        }
        for index in labels.indices where labels[index] < 0 || labels[index] >= logits.cols {
            let label = labels[index]
            throw ShapeError("SoftmaxCrossEntropy", "label \(label) outside the \(logits.cols) classes 0..<\(logits.cols)")
        }
    }
}

/// Number of rows whose largest logit is at the label's index (ties go to the lower index).
/// Throws `ShapeError` unless there is one label per row and, if there are rows, at least one
/// class.
@inlinable
public func correctPredictions<Scalar: TensorScalar>(logits: Matrix<Scalar>, labels: [Int]) throws -> Int {
    guard labels.count == logits.rows else {
        throw ShapeError("correctPredictions", "\(labels.count) labels for \(logits.rows) rows of logits; need one per row")
    }
    guard logits.rows == 0 || logits.cols > 0 else {
        throw ShapeError("correctPredictions", "logits have 0 classes (columns); need at least one")
    }
    let classes = logits.cols
    var correct = 0
    logits.withUnsafeBufferPointer { z in
        for i in 0..<logits.rows {
            var best = 0
            for j in 1..<classes where z[i * classes + j] > z[i * classes + best] { best = j }
            if best == labels[i] { correct += 1 }
        }
    }
    return correct
}
