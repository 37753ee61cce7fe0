import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// The MPI-free parts of data-parallel training: bucket plans, batch shards, the backward
/// passes' progress reports, and the trainer's communicator path.
@Suite("Data-parallel training: buckets, shards, staged backward")
struct DataParallelUnitTests {
    @Test func bucketsCoverTheParametersFromTheEnd() throws {
        let plan = try GradientBucketPlan(parameterCounts: [5, 3, 10, 2, 1], targetElements: 6)
        #expect(plan.buckets.map(\.parameterRange) == [2..<5, 0..<2])
        #expect(plan.buckets.map(\.elementCount) == [13, 8])
        #expect(plan.elementCount == 21)
        let single = try GradientBucketPlan(parameterCounts: [4, 4], targetElements: 100)
        #expect(single.buckets.map(\.parameterRange) == [0..<2])
        #expect(throws: DataParallelError.self) { try GradientBucketPlan(parameterCounts: [1], targetElements: 0) }
    }

    @Test func shardsSplitBatchesAndEvaluationSets() throws {
        #expect(try DataShard(rank: 1, size: 2).rows(ofBatch: 16) == 8..<16)
        #expect(throws: DataParallelError.self) { try DataShard(rank: 0, size: 2).rows(ofBatch: 15) }
        #expect((0..<3).map { DataShard(rank: $0, size: 3).share(of: 10) } == [0..<4, 4..<7, 7..<10])
        #expect((0..<4).map { DataShard(rank: $0, size: 4).share(of: 2) } == [0..<1, 1..<2, 2..<2, 2..<2])
    }

    /// Each model's backward reports suffixes of its parameter list, from the end down to 0;
    /// when a suffix is reported its gradients already hold their final values, and the staged
    /// backward computes the same gradients as the plain one.
    @Test(arguments: ["mixer", "vit", "gpt"])
    func stagedBackwardReportsFinalGradients(_ name: String) throws {
        let model: any TrainableModel<Float> = try ModelConfiguration.preset(name, size: "tiny").makeModel(seed: 7)
        var rng = SeededRandom(seed: 8)
        let inputs: Matrix<Float>
        if name == "gpt" {
            inputs = try Matrix(rows: 2, cols: 16, storage: (0..<32).map { Float(($0 * 37) % 256) })
        } else {
            inputs = Matrix(rows: 3, cols: 784, initializer: .uniform(low: 0, high: 1), rng: &rng)
        }
        var logits = Matrix<Float>(rows: 0, cols: 0)
        try model.forward(inputs, into: &logits)
        let dLogits = Matrix<Float>(rows: logits.rows, cols: logits.cols, initializer: .uniform(low: -1, high: 1), rng: &rng)
        var dx = Matrix<Float>(rows: 0, cols: 0)
        let parameters = model.parameters
        parameters.forEach { $0.zeroGradient() }
        try model.backward(input: inputs, outputGradient: dLogits, inputGradient: &dx)
        let plain = parameters.map(\.gradient)

        parameters.forEach { $0.zeroGradient() }
        var reports: [Int] = []
        var snapshots: [Int: Matrix<Float>] = [:]
        try model.backward(input: inputs, outputGradient: dLogits, inputGradient: &dx, gradientsReady: { index in
            reports.append(index)
            for i in index..<parameters.count where snapshots[i] == nil { snapshots[i] = parameters[i].gradient }
        })
        #expect(reports.last == 0, "\(name): reports \(reports)")
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0 >= $1 }, "\(name): reports \(reports) must not increase")
        #expect(reports.count > 3, "\(name): \(reports.count) reports give buckets nothing to overlap")
        for (i, parameter) in parameters.enumerated() {
            #expect(snapshots[i] == parameter.gradient, "\(name): \(parameter.name) changed after it was reported ready")
            #expect(plain[i] == parameter.gradient, "\(name): \(parameter.name) differs between the staged and the plain backward")
        }
    }

    /// A one-rank communicator that only averages over itself: the trainer's data-parallel
    /// path then takes exactly the single-process steps.
    final class LoopbackCommunicator: DataParallelCommunicator {
        typealias Scalar = Float
        let rank = 0
        let size = 1
        let buildIdentity = "loopback"
        var attached = 0
        var reports = 0
        var lastReport = -1
        var finished = 0
        func attach(_ parameters: [Parameter<Float>]) throws { attached = parameters.count }
        func gradientsReady(from index: Int) throws {
            reports += 1
            lastReport = index
        }
        func finishGradients() throws { finished += 1 }
        func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
        func broadcastFromRankZero(_ bytes: UnsafeMutableRawBufferPointer) throws {}
        func gather(_ value: UInt64) throws -> [UInt64] { [value] }
    }

    @Test func trainerWithOneRankCommunicatorMatchesPlainTrainer() throws {
        func trainer(_ communicator: LoopbackCommunicator?) throws -> Trainer<Float> {
            try Trainer(model: ModelConfiguration.mixer(.tiny).makeModel(seed: 1, as: Float.self),
                        schedule: WarmupCosineSchedule(peak: 1e-3, warmupSteps: 1, totalSteps: 10),
                        loss: SoftmaxCrossEntropy(labelSmoothing: 0.1), hyperparameters: .init(), clipNorm: 1,
                        communicator: communicator)
        }
        var rng = SeededRandom(seed: 2)
        let images = Matrix<Float>(rows: 4, cols: 784, initializer: .uniform(low: 0, high: 1), rng: &rng)
        let loopback = LoopbackCommunicator()
        let (plain, parallel) = (try trainer(nil), try trainer(loopback))
        for _ in 0..<3 {
            let a = try plain.step(inputs: images, labels: [0, 1, 2, 3])
            let b = try parallel.step(inputs: images, labels: [0, 1, 2, 3])
            #expect(a == b)
        }
        #expect(plain.stateHash() == parallel.stateHash())
        #expect(loopback.attached == plain.parameters.count && loopback.finished == 3 && loopback.lastReport == 0 && loopback.reports > 3)
        let labels = [0, 1, 2, 3]
        let allocations = try countAllocations { try parallel.step(inputs: images, labels: labels) }
        #expect(allocations == 0, "\(allocations) allocations in a steady-state step through a communicator")
    }
}
