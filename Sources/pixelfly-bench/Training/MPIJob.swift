import ArgumentParser
import Distributed
import PixelflyTraining
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs one rank of an `mpirun` job: initialises MPI, hands `body` a communicator over
/// `MPI_COMM_WORLD` and makes sure no rank is left waiting when something fails.
///
/// - A `CollectiveError` (every rank fails at the same point: bad configuration, ranks that
///   disagree, a checkpoint rank 0 could not resume) ends all ranks cleanly: rank 0 reports
///   it, the ranks meet at a barrier (so that the report is out before mpirun, seeing the first
///   failed rank, ends the job), finalise MPI and exit with status 1.
/// - Any other error fails on one rank only; that rank reports it with its rank and calls
///   `MPI_Abort`, which ends the others (the job exits with status 1).
enum MPIJob {
    static func run(bucketMegabytes: Double, _ body: (MPICommunicator) throws -> Void) throws {
        try MPIProcess.initialize()
        let communicator: MPICommunicator
        do {
            let elements = Int(bucketMegabytes * 1_048_576 / Double(MemoryLayout<Float>.size))
            communicator = try MPICommunicator(bucketElements: elements, buildIdentity: buildIdentity)
        } catch {
            fail(error, rank: nil)
        }
        do {
            try body(communicator)
        } catch let error as CollectiveError {
            // Rank 0 reports before anyone exits: mpirun ends the job at the first non-zero exit.
            if communicator.rank == 0 {
                fflush(nil)
                writeToStandardError("Error: \(error)\n")
            }
            try? MPIProcess.barrier()
            MPIProcess.finalize()
            throw ExitCode.failure
        } catch {
            fail(error, rank: communicator.rank)
        }
        MPIProcess.finalize()
    }

    private static func fail(_ error: any Error, rank: Int?) -> Never {
        let who = rank.map { "rank \($0): " } ?? ""
        fflush(nil)
        writeToStandardError("Error: \(who)\(error)\n")
        MPIProcess.abort(code: 1)
    }

    /// What else must match between ranks besides the MPI library: the compiler and build type.
    static var buildIdentity: String {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        #if compiler(>=6.3)
        return "Swift ≥ 6.3, \(build)"
        #else
        return "Swift < 6.3, \(build)"
        #endif
    }
}
