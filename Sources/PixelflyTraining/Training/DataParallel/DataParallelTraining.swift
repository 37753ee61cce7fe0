import Foundation
import PixelflyCore

// The start-up of a data-parallel `runTraining`, in the order it runs on every rank:
//
// 1. `checkRanksShareTheConfiguration`: each rank hashes what must agree — the configuration
//    (without file paths, which may differ between machines), the model's parameter names and
//    shapes, the scalar type, the number of ranks, the data-parallel protocol and checkpoint
//    format versions and the communicator's build identity (MPI library version, compiler,
//    debug/release) — and rank 0 compares every rank's hash with its own. Two builds of
//    different library sources that agree on all of these are not told apart.
// 2. `resumeOnRankZero`: with `resumePath`, rank 0 alone reads the checkpoint (other machines
//    need not see the file) and tells the others whether that worked.
// 3. `Trainer.broadcastStateFromRankZero` and `checkRanksHoldTheSameState`: rank 0's parameters,
//    moments and step overwrite everyone's, and a state hash confirms it.
//
// The checkpoint holds the global state only (parameters, moments, step): the ranks split each
// global batch among themselves, so a run can resume with any number of ranks.

/// Throws `CollectiveError` on every rank unless all ranks compute the same configuration hash.
func checkRanksShareTheConfiguration(_ configuration: TrainingConfiguration, trainer: Trainer<Float>,
                                     communicator: any DataParallelCommunicator<Float>) throws {
    let hash = try configurationHash(configuration, parameters: trainer.parameters,
                                     ranks: communicator.size, buildIdentity: communicator.buildIdentity)
    let hashes = try communicator.gather(hash)
    let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
    guard differing.isEmpty else {
        throw CollectiveError(DataParallelError(
            "rank(s) \(differing.map(String.init).joined(separator: ", ")) run with a configuration or build other than rank 0's "
            + "(configuration hashes \(hashes.map { String($0, radix: 16) }.joined(separator: ", "))); every rank must run the same "
            + "pixelfly-bench build with the same options (model, sizes, batch, seed, schedule) and the same MPI library"))
    }
}

/// FNV-1a over everything that must agree between ranks (see the top of this file).
public func configurationHash(_ configuration: TrainingConfiguration, parameters: [Parameter<Float>],
                              ranks: Int, buildIdentity: String) throws -> UInt64 {
    var shared = configuration
    shared.checkpointPath = nil
    shared.resumePath = nil
    shared.dataDirectory = ""
    shared.corpusPath = ""
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    var hash = FNV1a()
    hash.add("pixelfly data-parallel 1, \(Trainer<Float>.checkpointFormat)")
    hash.add(String(decoding: try encoder.encode(shared), as: UTF8.self))
    hash.add("Float ranks \(ranks)")
    hash.add(buildIdentity)
    for parameter in parameters { hash.add("\(parameter.name) \(parameter.value.rows)×\(parameter.value.cols)") }
    return hash.value
}

/// With `resumePath`: rank 0 restores the checkpoint; every rank throws `CollectiveError` if
/// that failed (rank 0 with the reason, the others saying so).
func resumeOnRankZero(_ configuration: TrainingConfiguration, trainer: Trainer<Float>,
                      communicator: any DataParallelCommunicator<Float>) throws {
    guard let path = configuration.resumePath else { return }
    var failure: (any Error)?
    if communicator.rank == 0 {
        do { try resume(trainer, from: path, seed: configuration.seed, model: configuration.model) } catch { failure = error }
    }
    var failed: Int64 = failure == nil ? 0 : 1
    try withUnsafeMutableBytes(of: &failed) { try communicator.broadcastFromRankZero($0) }
    if failed != 0 {
        throw CollectiveError(failure ?? DataParallelError("rank 0 could not resume from \(path)"))
    }
}
