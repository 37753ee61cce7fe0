import PixelflyCore
import PixelflyModels

/// A non-finite loss or gradient: training stops and the last checkpoint stays as it was.
public struct NonFiniteLossError: Error, CustomStringConvertible, Sendable {
    public let step: Int
    public let loss: Double
    public let gradientNorm: Double
    public let lastCheckpoint: String?

    public var description: String {
        "training stopped at step \(step): loss \(loss), gradient norm \(gradientNorm) is not finite; "
            + (lastCheckpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written")
    }
}

/// One optimisation step at a time: forward, label-smoothed cross-entropy, backward, gradient
/// clipping, warmup + cosine learning rate, AdamW.
///
/// All buffers (logits, their gradient, the input gradient, the model's activations, the
/// optimizer moments) are kept between steps, so a steady-state step allocates nothing
/// (`TrainingAllocationTests` counts it).
public final class Trainer<Scalar: TensorScalar> {
    public let model: any TrainableModel<Scalar>
    public let optimizer: AdamW<Scalar>
    public let schedule: WarmupCosineSchedule
    public let loss: SoftmaxCrossEntropy
    /// Plain cross-entropy (no smoothing), for evaluation.
    private let evaluationLoss: SoftmaxCrossEntropy
    /// Global gradient-norm limit, or nil for no clipping.
    public let clipNorm: Double?
    public let parameters: [Parameter<Scalar>]
    public private(set) var logits = Matrix<Scalar>(rows: 0, cols: 0)
    private var logitsGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var inputGradient = Matrix<Scalar>(rows: 0, cols: 0)

    /// Data-parallel peers, or nil for a single process. With peers, each rank passes its
    /// slice of the global batch to `step`; gradients and the loss are averaged over ranks.
    public let communicator: (any DataParallelCommunicator<Scalar>)?

    public init(model: any TrainableModel<Scalar>, schedule: WarmupCosineSchedule, loss: SoftmaxCrossEntropy,
                hyperparameters: AdamW<Scalar>.Hyperparameters, clipNorm: Double?,
                communicator: (any DataParallelCommunicator<Scalar>)? = nil) throws {
        self.model = model
        parameters = model.parameters
        optimizer = try AdamW(parameters: parameters, hyperparameters: hyperparameters)
        self.schedule = schedule
        self.loss = loss
        evaluationLoss = try SoftmaxCrossEntropy(labelSmoothing: 0)
        self.clipNorm = clipNorm
        self.communicator = communicator
        try communicator?.attach(parameters)
    }

    /// Completed optimisation steps.
    public var step: Int { optimizer.step }

    /// One training step on a batch; returns the loss before the update. Throws
    /// `NonFiniteLossError` (without updating the parameters) if the loss or the gradient norm
    /// is not finite.
    ///
    /// Data-parallel (with a communicator): `inputs` is this rank's slice, all slices have the
    /// same number of rows, and the returned loss and the gradients are the means over ranks —
    /// the mean loss and its gradient over the global batch. Every rank then holds the same
    /// gradients and takes the same update.
    ///
    /// Float callers in other modules get a copy compiled for Float (`@_specialize(exported:)`):
    /// a generic body run unspecialised makes the Swift loops (loss, clipping, AdamW) ~27× slower.
    @discardableResult
    @_specialize(exported: true, where Scalar == Float)
    public func step(inputs: Matrix<Scalar>, labels: [Int], checkpointPath: String? = nil) throws -> Double {
        ComputeThreads.parallelFor(parameters.count) { index, _ in parameters[index].zeroGradient() }
        try model.forward(inputs, into: &logits)
        var value = try loss.lossAndGradient(logits: logits, labels: labels, gradient: &logitsGradient)
        if let communicator {
            // A non-finite loss on one rank must stop every rank at the same point: check the mean.
            try model.backward(input: inputs, outputGradient: logitsGradient, inputGradient: &inputGradient,
                               gradientsReady: { try communicator.gradientsReady(from: $0) })
            try communicator.finishGradients()
            try withUnsafeMutablePointer(to: &value) { try communicator.sum(UnsafeMutableBufferPointer(start: $0, count: 1)) }
            value /= Double(communicator.size)
        }
        guard value.isFinite else {
            throw NonFiniteLossError(step: step, loss: value, gradientNorm: .nan, lastCheckpoint: checkpointPath)
        }
        if communicator == nil {
            try model.backward(input: inputs, outputGradient: logitsGradient, inputGradient: &inputGradient)
        }
        let norm = clipGradientNorm(parameters, maxNorm: clipNorm ?? .infinity)
        guard norm.isFinite else {
            throw NonFiniteLossError(step: step, loss: value, gradientNorm: norm, lastCheckpoint: checkpointPath)
        }
        optimizer.update(learningRate: schedule.learningRate(at: step))
        return value
    }

    /// Unsmoothed cross-entropy (mean over rows) and the number of correct argmax predictions on one batch, without
    /// touching gradients or parameters.
    @_specialize(exported: true, where Scalar == Float)
    public func evaluate(inputs: Matrix<Scalar>, labels: [Int]) throws -> (loss: Double, correct: Int) {
        try model.forward(inputs, into: &logits)
        let value = try evaluationLoss.loss(logits: logits, labels: labels, scratch: &logitsGradient)
        return (value, try correctPredictions(logits: logits, labels: labels))
    }
}
