import PixelflyCore

/// `step`, `evaluate` and an AdamW update compiled for Float inside this module.
///
/// A generic method called from another module runs its unspecialised body (the platform notes
/// measured Swift loops 27× slower that way): AdamW, clipping and the loss are Swift loops. Code
/// in this module (`runTraining`) is specialised by whole-module optimisation; code outside it
/// that times steps (`pixelfly-bench scaling`) calls these.
extension Trainer where Scalar == Float {
    @discardableResult
    public func specializedStep(inputs: Matrix<Float>, labels: [Int]) throws -> Double {
        try step(inputs: inputs, labels: labels)
    }

    public func specializedEvaluate(inputs: Matrix<Float>, labels: [Int]) throws -> (loss: Double, correct: Int) {
        try evaluate(inputs: inputs, labels: labels)
    }

    public func specializedOptimizerUpdate(learningRate: Double) {
        optimizer.update(learningRate: learningRate)
    }
}
