import PixelflyCore

/// What data-parallel training needs from its transport (MPI in module `Distributed`), kept
/// here as a protocol so that this module and its users never depend on an MPI library.
///
/// Every one of the `size` ranks runs the same program on its slice of each global batch; all
/// calls below are collective: every rank makes them in the same order. Gradient averaging is
/// split in three calls so that reductions overlap the backward pass (as PyTorch's DDP does):
///
///     attach(parameters)                  once: plan buckets over the gradients
///     per step:  backward … gradientsReady(from: i) …     buckets whose gradients are final start
///                finishGradients()                          waits; gradient ← (1/size)·Σ_ranks gradient
public protocol DataParallelCommunicator<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar

    /// This process's index in `0..<size`.
    var rank: Int { get }
    /// Number of ranks (processes) training together.
    var size: Int { get }
    /// The transport and build (e.g. MPI library version, compiler): part of the configuration
    /// hash that ranks compare at start-up.
    var buildIdentity: String { get }

    /// Plans the gradient buckets for `parameters` (the model's order); called once before the
    /// first step.
    func attach(_ parameters: [Parameter<Scalar>]) throws

    /// The backward pass has finished the gradients of `parameters[index...]`: a reduction may
    /// start for every bucket inside that suffix. Indices passed during one step only decrease.
    func gradientsReady(from index: Int) throws

    /// Starts what is left, waits for every bucket and writes the rank average into each
    /// parameter's gradient. Afterwards the gradients are bit-identical on every rank.
    func finishGradients() throws

    /// Element-wise sum over ranks, in place (losses, evaluation counts).
    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws

    /// Overwrites `bytes` on every rank with rank 0's.
    func broadcastFromRankZero(_ bytes: UnsafeMutableRawBufferPointer) throws

    /// Every rank's `value`, indexed by rank.
    func gather(_ value: UInt64) throws -> [UInt64]
}

/// A failure that every rank raises at the same point of a data-parallel run (a configuration
/// check, a configuration-hash mismatch, a resume that rank 0 could not do). The ranks stop
/// together and only rank 0 needs to report it.
public struct CollectiveError: Error, CustomStringConvertible {
    public let underlying: any Error
    public init(_ underlying: any Error) { self.underlying = underlying }
    public var description: String { String(describing: underlying) }
}

/// A data-parallel configuration that cannot work, or ranks that disagree.
public struct DataParallelError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "data-parallel training: \(message)" }
}

/// This rank's share of a global batch of `globalBatch` rows split evenly over `size` ranks.
public struct DataShard: Codable, Sendable, Equatable {
    public let rank: Int
    public let size: Int

    public static let single = DataShard(rank: 0, size: 1)

    public init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// Rows `rank·G/N ..< (rank + 1)·G/N` of a batch of `globalBatch` rows; throws unless N divides G.
    public func rows(ofBatch globalBatch: Int) throws -> Range<Int> {
        guard globalBatch % size == 0 else {
            throw DataParallelError("the global batch \(globalBatch) does not split evenly over \(size) ranks; "
                + "choose a batch size that is a multiple of \(size)")
        }
        let local = globalBatch / size
        return (rank * local)..<((rank + 1) * local)
    }

    /// A contiguous, nearly even share of `0..<count` (evaluation sets): the first
    /// `count mod size` ranks take one more item.
    public func share(of count: Int) -> Range<Int> {
        let (base, extra) = count.quotientAndRemainder(dividingBy: size)
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}
