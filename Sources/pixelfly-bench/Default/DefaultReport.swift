import Foundation
import PixelflyCore

/// Everything the default job measured, written as summary.json, summary.md and two SVGs.
struct DefaultReport: Encodable {
    var environment: RunEnvironment
    var gemm: [GemmThroughput]
    var layers: DefaultLayerSection
    var blocks: DefaultBlockSection
    var training: DefaultTrainingSection
    /// PyTorch's dense Mixer step against the library's (or why it was skipped).
    var pytorch: DefaultPyTorchComparison
    /// The GPT on text, with `--full` only.
    var language: DefaultLanguageSection?
    var totalSeconds: Double

    func write(to folder: ResultsFolder, command: String) throws {
        try folder.writeJSON("summary.json", ResultDocument(
            command: command, environment: environment,
            configuration: ["seed": "\(training.dense.result.configuration.seed)",
                            "dense model": "\(training.dense.result.configuration.model)",
                            "pixelfly model": "\(training.pixelfly.result.configuration.model)"],
            results: self))
        try folder.writeText("summary.md", markdown(command: command))
        try folder.writeText("layer-speedup.svg", layers.plot.svg)
        try folder.writeText("accuracy-vs-time.svg", training.plot.svg)
    }

    func markdown(command: String) -> String {
        """
        # pixelfly-bench default job

        `\(command)` — \(environment.date), commit \(environment.gitCommit), \(environment.buildConfiguration) build.
        CPU \(environment.cpu), \(environment.cores); OpenBLAS core \(environment.openBLASCore),
        \(environment.computeThreads) compute threads × \(environment.openBLASThreadsPerCall) OpenBLAS thread per call (`OPENBLAS_CORETYPE` \(environment.openBLASCoreTypeVariable ?? "unset"));
        load average at start \(environment.hostLoadAverage). Total \(format(totalSeconds, 0)) s.

        **\(training.headline).**

        ## Dense sgemm yardstick

        \((gemm.map(\.line) + GemmThroughput.scalingWarnings(gemm, physicalCores: environment.physicalCores)).map { "- " + $0 }.joined(separator: "\n"))

        ## Linear layers (time ÷ the faster dense layer's time, dense or dense-blocks; B = 16, K = 2, rank 64, b per shape from `tileAlignedBlockSize`: column b)

        \(layers.table.markdown)

        \(layers.targetLines(machine: environment.machine).map { "    " + $0 }.joined(separator: "\n"))

        ![speed-up against density](layer-speedup.svg)

        ## Blocks (forward + backward; * marks the faster dense, the speed-up's baseline)

        \(blocks.table.markdown)

        ## Training (same seed and data order for all three; the faster dense is the baseline)

        \(training.table.markdown)

        \(training.targetLine)

        \(pytorch.lines.joined(separator: "\n\n"))

        ![accuracy against time](accuracy-vs-time.svg)

        Evaluations (step, epoch, test accuracy %, training seconds):

        \(evaluationLines)
        \(languageMarkdown)
        """
    }

    private var languageMarkdown: String {
        guard let language else { return "" }
        return """

        ## Byte-level GPT on the text corpus (`--full`)

        \(language.table.markdown)
        """
    }

    private var evaluationLines: String {
        [(training.dense.linear, training.dense), (training.otherDense.linear, training.otherDense),
         ("Pixelfly", training.pixelfly)].flatMap { label, run in
            run.result.evaluations.map {
                "- \(label): step \($0.step), epoch \(format($0.epoch, 2)), \(format($0.testAccuracy * 100, 2)) %, \(format($0.trainingSeconds, 1)) s"
            }
        }.joined(separator: "\n")
    }
}
