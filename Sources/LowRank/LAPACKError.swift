/// A LAPACK routine reported failure (`info ≠ 0`), or was handed input it cannot process.
public struct LAPACKError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The routine, e.g. `"dgesdd"`.
    public let routine: String
    /// LAPACK's `info`: negative = argument `-info` was illegal; positive = no convergence.
    /// Zero when the input was refused before calling LAPACK (see `message`).
    public let info: Int
    public let message: String

    public init(routine: String, info: Int, message: String) {
        self.routine = routine
        self.info = info
        self.message = message
    }

    public var description: String { "\(routine) (info \(info)): \(message)" }
}
