import ArgumentParser
import PixelflyCore

/// The benchmark and experiment runner. `pixelfly-bench` with no subcommand runs the default job.
struct PixelflyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixelfly-bench",
        abstract: "Measures Pixelfly (flat block butterfly + low-rank) against dense layers on this CPU.",
        discussion: """
        Every figure is a ratio against a dense baseline timed in the same process with the same \
        OpenBLAS kernels and thread count. The header names both.
        """,
        subcommands: [DefaultJob.self, GemmCommand.self, MaskCommand.self, DataCommand.self, BlocksCommand.self,
                      LayersCommand.self, LowRankCommand.self, FFTCommand.self, LearnDFTCommand.self,
                      TrainCommand.self, ExportCommand.self, EvaluateCommand.self, GenerateCommand.self, ConvertCommand.self, ScalingCommand.self, ReproduceCommand.self],
        defaultSubcommand: DefaultJob.self
    )
}

/// Options every timing subcommand shares.
struct TimingOptions: ParsableArguments {
    @Option(help: "Timed repetitions per measurement (the median is reported, with min and max).")
    var repetitions: Int = 5

    @Option(help: "Untimed warm-up runs before measuring.")
    var warmup: Int = 1

    @Flag(help: "Allow timing a debug build (numbers are meaningless; for testing the bench itself).")
    var allowDebug = false

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be non-negative") }
        #if DEBUG
        guard allowDebug else {
            throw ValidationError("this is a debug build; timings would be meaningless. Use `swift run -c release pixelfly-bench` (or `make bench`), or pass --allow-debug.")
        }
        #endif
    }
}
