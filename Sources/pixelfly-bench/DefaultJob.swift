import ArgumentParser
import PixelflyCore

/// `make bench`: the default job.
struct DefaultJob: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The default job: environment header and the dense sgemm yardstick.")

    @OptionGroup var timing: TimingOptions

    func run() throws {
        print(RunEnvironment.current().header)
        for row in try GemmThroughput.measure(size: 1024, threads: [1, 2], timing: timing) {
            print(row.line)
        }
    }
}
