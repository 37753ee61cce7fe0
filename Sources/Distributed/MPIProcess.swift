import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// The MPI library's life cycle in this process.
///
/// A program started without `mpirun` never initialises MPI: `isLaunchedByMPI` reads the
/// variables Open MPI's launcher sets (`OMPI_COMM_WORLD_SIZE`, or PMIx's `PMIX_RANK`), and
/// without them the program runs as one process and makes no MPI call (libmpi is loaded but
/// idle; MPI's singleton mode, which would start an `orted` daemon, is not used).
public enum MPIProcess {
    /// Whether `mpirun`/`mpiexec` (Open MPI or another PMIx launcher) started this process.
    public static var isLaunchedByMPI: Bool {
        getenv("OMPI_COMM_WORLD_SIZE") != nil || getenv("PMIX_RANK") != nil
    }

    /// `MPI_Init_thread` with `MPI_THREAD_FUNNELED` (only the main thread calls MPI; the compute
    /// threads never do). Call once, from the main thread.
    public static func initialize() throws {
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, pixelfly_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        guard provided >= pixelfly_mpi_thread_funneled() else {
            throw MPIError(call: "MPI_Init_thread", code: -1,
                           detail: "the MPI library provides thread level \(provided); the compute threads need MPI_THREAD_FUNNELED")
        }
    }

    /// Whether `MPI_Init` has run and `MPI_Finalize` has not.
    public static var isInitialized: Bool {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        return initialized != 0 && finalized == 0
    }

    /// `MPI_Barrier` on `MPI_COMM_WORLD`.
    public static func barrier() throws {
        try check(MPI_Barrier(pixelfly_mpi_comm_world()), "MPI_Barrier")
    }

    public static func finalize() {
        if isInitialized { MPI_Finalize() }
    }

    /// Ends every rank of the job (`MPI_Abort`): for a failure the other ranks would otherwise
    /// wait for forever.
    public static func abort(code: Int32) -> Never {
        if isInitialized { MPI_Abort(pixelfly_mpi_comm_world(), code) }
        exit(code)
    }

    /// This process's rank and the number of ranks in `MPI_COMM_WORLD`.
    public static func worldRankAndSize() throws -> (rank: Int, size: Int) {
        var rank: Int32 = 0
        var size: Int32 = 0
        try check(MPI_Comm_rank(pixelfly_mpi_comm_world(), &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(pixelfly_mpi_comm_world(), &size), "MPI_Comm_size")
        return (Int(rank), Int(size))
    }

    /// `MPI_Get_library_version`, first line (e.g. "Open MPI v4.1.4, package: Debian OpenMPI, …").
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(pixelfly_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? text
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code == pixelfly_mpi_success() else { throw MPIError(call: call, code: code, detail: "") }
    }
}

/// An MPI call that returned an error code (with the default error handler, MPI aborts first).
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public let detail: String
    public var description: String { "\(call) failed (code \(code))\(detail.isEmpty ? "" : ": " + detail)" }
}
