import Distributed
import PixelflyTraining
import PixelflyCore

/// One model's timed steps in `pixelfly-bench scaling`.
struct ScalingRun {
    let name: String
    let trainer: Trainer<Float>
    let communicator: MPICommunicator?
    var steps: [Double] = []
    var waits: [Double] = []
    var overheads: [Double] = []
    var forwards: [Double] = []
    var updates: [Double] = []
    var blocking: [Double] = []

    init(name: String, trainer: Trainer<Float>, communicator: MPICommunicator?) {
        self.name = name
        self.trainer = trainer
        self.communicator = communicator
    }

    /// One training step (all ranks start it together), then a forward pass and a blocking
    /// all-reduce of the same buckets, each timed on its own.
    mutating func step(images: Matrix<Float>, labels: [Int], timed: Bool) throws {
        try communicator.map { _ in try MPIProcess.barrier() }
        let before = communicator?.statistics ?? CommunicationStatistics()
        let start = monotonicSeconds()
        try trainer.step(inputs: images, labels: labels)
        let seconds = monotonicSeconds() - start
        let after = communicator?.statistics ?? CommunicationStatistics()
        let forwardStart = monotonicSeconds()
        _ = try trainer.evaluate(inputs: images, labels: labels)
        let forward = monotonicSeconds() - forwardStart
        // One more AdamW update at learning rate 0 (θ and the step count change no more than a
        // real update would; the run is only timed): the per-parameter cost that batch size does not scale.
        let updateStart = monotonicSeconds()
        trainer.optimizer.update(learningRate: 0)
        let update = monotonicSeconds() - updateStart
        let bare = try communicator?.reduceAllBucketsBlocking() ?? 0
        guard timed else { return }
        steps.append(seconds)
        waits.append(after.waitSeconds - before.waitSeconds)
        overheads.append(after.startSeconds - before.startSeconds)
        forwards.append(forward)
        updates.append(update)
        blocking.append(bare)
    }

    func record(ranks: Int, threads: Int, globalBatch: Int) -> ScalingRecord {
        let compute = zip(steps, zip(waits, overheads)).map { $0 - $1.0 - $1.1 }
        return ScalingRecord(
            model: name, ranks: ranks, threadsPerRank: threads, globalBatch: globalBatch,
            parameters: trainer.parameters.reduce(0) { $0 + $1.count },
            allReduceBytesPerStep: communicator?.statistics.bytesPerStep ?? 0,
            buckets: communicator?.statistics.buckets ?? 0,
            step: Quartiles(steps), compute: Quartiles(compute), forward: Quartiles(forwards), optimizer: Quartiles(updates), wait: Quartiles(waits),
            overhead: Quartiles(overheads), blockingAllReduce: Quartiles(blocking),
            imagesPerSecond: Double(globalBatch) / (Quartiles(steps).median / 1e3))
    }
}

/// Median and quartiles of a set of times, stored in milliseconds.
struct Quartiles: Codable {
    var median: Double
    var firstQuartile: Double
    var thirdQuartile: Double

    init(_ seconds: [Double]) {
        let sorted = seconds.sorted()
        func at(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] * 1e3 }
        median = at(0.5)
        firstQuartile = at(0.25)
        thirdQuartile = at(0.75)
    }

    var text: String { "\(format(median, 2)) [\(format(firstQuartile, 2))–\(format(thirdQuartile, 2))]" }
}

/// One row of `pixelfly-bench scaling`'s JSON (times in ms).
struct ScalingRecord: Codable {
    var model: String
    var ranks: Int
    var threadsPerRank: Int
    var globalBatch: Int
    var parameters: Int
    var allReduceBytesPerStep: Int
    var buckets: Int
    var step: Quartiles
    var compute: Quartiles
    var forward: Quartiles
    /// One AdamW update (all parameters), inside `compute`.
    var optimizer: Quartiles
    var wait: Quartiles
    var overhead: Quartiles
    var blockingAllReduce: Quartiles
    var imagesPerSecond: Double
}
