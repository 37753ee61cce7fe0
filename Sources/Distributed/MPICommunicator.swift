import CMPI
import PixelflyTraining
import PixelflyCore

/// Data-parallel gradient averaging over `MPI_COMM_WORLD`, in buckets that start reducing while
/// the backward pass is still running (the scheme of PyTorch's DistributedDataParallel).
///
/// `attach` plans buckets of at least `bucketElements` gradient values (`GradientBucketPlan`,
/// from the last parameter backwards) and allocates one flat buffer per bucket. During the
/// backward pass, each `gradientsReady(from:)` copies every bucket whose parameters are now final
/// into its buffer and starts `MPI_Iallreduce` (sum, in place) on it; it also calls
/// `MPI_Testall` on the buckets already started, because Open MPI progresses non-blocking
/// collectives only inside MPI calls. `finishGradients` waits for all of them and writes
/// `(1/N)·Σ_ranks g` back into each gradient. The sum of two values is the same in either
/// order, and Open MPI's reduction schedule is fixed for a given size and communicator, so
/// every rank gets the same bits and a run repeats bit for bit.
///
/// Float only, and not generic: a generic class instantiated in another module would run its
/// copy loops unspecialised.
///
/// MPI's default error handler (`MPI_ERRORS_ARE_FATAL`) stays in place: a failed call, or a
/// rank that dies, ends the whole job rather than leaving ranks waiting.
public final class MPICommunicator: DataParallelCommunicator {
    public typealias Scalar = Float
    public let rank: Int
    public let size: Int
    public let buildIdentity: String
    /// Target bucket size in gradient values.
    public let bucketElements: Int
    public private(set) var plan: GradientBucketPlan?
    /// Time and volume of the gradient reductions (see `CommunicationStatistics`).
    public var statistics = CommunicationStatistics()

    private let communicator: MPI_Comm
    private let datatype: MPI_Datatype
    private var parameters: [Parameter<Scalar>] = []
    private var buffers: [[Scalar]] = []
    private var requests: [MPI_Request?] = []
    /// Buckets started in the current step (they start in plan order).
    private var started = 0

    /// Needs `MPIProcess.initialize()` first. `bucketElements` > 0 (e.g. 1 M values = 4 MB of Float).
    public init(bucketElements: Int = 1 << 20, buildIdentity: String = "") throws {
        guard MPIProcess.isInitialized else {
            throw MPIError(call: "MPICommunicator", code: -1, detail: "MPI is not initialised; call MPIProcess.initialize() first")
        }
        guard bucketElements > 0 else { throw DataParallelError("the bucket size must be positive, got \(bucketElements)") }
        datatype = pixelfly_mpi_float()
        (rank, size) = try MPIProcess.worldRankAndSize()
        communicator = pixelfly_mpi_comm_world()
        self.bucketElements = bucketElements
        self.buildIdentity = "\(MPIProcess.libraryVersion); \(buildIdentity)"
    }

    public func attach(_ parameters: [Parameter<Scalar>]) throws {
        let plan = try GradientBucketPlan(parameterCounts: parameters.map(\.count), targetElements: bucketElements)
        for bucket in plan.buckets where bucket.elementCount > Int(Int32.max) {
            throw DataParallelError("a bucket of \(bucket.elementCount) values exceeds MPI's count limit \(Int32.max)")
        }
        self.parameters = parameters
        self.plan = plan
        buffers = plan.buckets.map { [Scalar](repeating: 0, count: $0.elementCount) }
        requests = Array(repeating: pixelfly_mpi_request_null(), count: plan.buckets.count)
        started = 0
        statistics.bytesPerStep = plan.elementCount * MemoryLayout<Scalar>.size
        statistics.buckets = plan.buckets.count
    }

    public func gradientsReady(from index: Int) throws {
        guard let plan else { throw DataParallelError("gradientsReady before attach") }
        let start = monotonicSeconds()
        while started < plan.buckets.count, plan.buckets[started].parameterRange.lowerBound >= index {
            try startBucket(started, plan.buckets[started])
            started += 1
        }
        if started > 0 {
            var done: Int32 = 0
            try MPIProcess.check(MPI_Testall(Int32(started), &requests, &done, pixelfly_mpi_statuses_ignore()), "MPI_Testall")
        }
        statistics.startSeconds += monotonicSeconds() - start
    }

    public func finishGradients() throws {
        guard let plan else { throw DataParallelError("finishGradients before attach") }
        try gradientsReady(from: 0)
        let start = monotonicSeconds()
        try MPIProcess.check(MPI_Waitall(Int32(requests.count), &requests, pixelfly_mpi_statuses_ignore()), "MPI_Waitall")
        statistics.waitSeconds += monotonicSeconds() - start
        let unpackStart = monotonicSeconds()
        let scale = 1 / Scalar(size)
        for (b, bucket) in plan.buckets.enumerated() {
            buffers[b].withUnsafeBufferPointer { flat in
                var offset = 0
                for index in bucket.parameterRange {
                    let count = parameters[index].count
                    parameters[index].withMutableGradientElements { g in
                        for i in 0..<count { g[i] = flat[offset + i] * scale }
                    }
                    offset += count
                }
            }
        }
        started = 0
        statistics.steps += 1
        statistics.startSeconds += monotonicSeconds() - unpackStart
    }

    /// Copies the bucket's gradients into its buffer and starts the in-place sum over ranks.
    private func startBucket(_ b: Int, _ bucket: GradientBucketPlan.Bucket) throws {
        let code = buffers[b].withUnsafeMutableBufferPointer { flat -> Int32 in
            var offset = 0
            for index in bucket.parameterRange {
                parameters[index].gradient.withUnsafeBufferPointer { g in
                    (flat.baseAddress! + offset).update(from: g.baseAddress!, count: g.count)
                    offset += g.count
                }
            }
            return MPI_Iallreduce(pixelfly_mpi_in_place(), flat.baseAddress, Int32(flat.count), datatype,
                                  pixelfly_mpi_sum(), communicator, &requests[b])
        }
        try MPIProcess.check(code, "MPI_Iallreduce")
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try MPIProcess.check(MPI_Allreduce(pixelfly_mpi_in_place(), values.baseAddress, Int32(values.count),
                                           pixelfly_mpi_double(), pixelfly_mpi_sum(), communicator), "MPI_Allreduce")
    }

    public func broadcastFromRankZero(_ bytes: UnsafeMutableRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        let chunk = 1 << 30
        for offset in stride(from: 0, to: bytes.count, by: chunk) {
            try MPIProcess.check(MPI_Bcast(base + offset, Int32(min(chunk, bytes.count - offset)), pixelfly_mpi_byte(), 0, communicator),
                                 "MPI_Bcast")
        }
    }

    public func gather(_ value: UInt64) throws -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        try MPIProcess.check(MPI_Allgather(&mine, 1, pixelfly_mpi_uint64(), &all, 1, pixelfly_mpi_uint64(), communicator),
                             "MPI_Allgather")
        return all
    }

    /// A blocking `MPI_Allreduce` of every bucket, one after another, with no compute to
    /// overlap: the bare cost of reducing one step's gradients (for the bench).
    public func reduceAllBucketsBlocking() throws -> Double {
        guard plan != nil else { throw DataParallelError("reduceAllBucketsBlocking before attach") }
        try MPIProcess.check(MPI_Barrier(communicator), "MPI_Barrier")
        let start = monotonicSeconds()
        for b in buffers.indices {
            try buffers[b].withUnsafeMutableBufferPointer { flat in
                try MPIProcess.check(MPI_Allreduce(pixelfly_mpi_in_place(), flat.baseAddress, Int32(flat.count), datatype,
                                                   pixelfly_mpi_sum(), communicator), "MPI_Allreduce")
            }
        }
        return monotonicSeconds() - start
    }
}

/// Accumulated over steps since the last reset.
public struct CommunicationStatistics: Sendable {
    /// Gradient bytes each rank contributes to the reduction per step (parameters × scalar size).
    public var bytesPerStep = 0
    public var buckets = 0
    public var steps = 0
    /// Time inside `gradientsReady` (copying into buckets, starting and testing reductions) and
    /// copying results back: communication overhead that is not waiting.
    public var startSeconds = 0.0
    /// Time blocked in `MPI_Waitall` after the backward pass: the reduction time compute did not hide.
    public var waitSeconds = 0.0

    public init() {}
}
