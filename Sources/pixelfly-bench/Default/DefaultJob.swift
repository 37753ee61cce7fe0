import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore
import PixelflyModels

/// `make bench`: the claim end to end, in under 10 minutes on 2 cores.
///
/// 1. the dense sgemm yardstick (is OpenBLAS on its fast kernels?);
/// 2. a layer table: dense, block-sparse and Pixelfly linears, time ÷ the faster of the two dense layers;
/// 3. a block table: the pre-norm MLP and attention blocks with dense (both dense layers) vs Pixelfly linears;
/// 4. a training run: the same MLP-Mixer on Fashion-MNIST with dense (twice: OpenBLAS and dense-blocks) and with Pixelfly
///    channel-mixing linears — step time, speed-up, test accuracy, time to reach the dense
///    model's final accuracy; beside them the same dense Mixer's step in PyTorch, where it is
///    installed;
/// 5. with `--full` only: a byte-level GPT on the text corpus, dense vs Pixelfly.
///
/// Everything lands in `--results` as JSON (with the environment block), Markdown and SVG.
struct DefaultJob: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The default job: layer table, block table and a dense vs Pixelfly training run, written to a results folder.",
        discussion: "`--full` runs longer reproductions (the batch sizes 512 and 4096 in the layer table, all 60000 images for 6 epochs, and a byte-level GPT on text).")

    @Option(help: "Folder for summary.json, summary.md and the SVG plots.")
    var results: String = "results/default"

    @Flag(help: "Longer reproduction: layer batches 64, 512 and 4096, all training images for 6 epochs, and a GPT on text.")
    var full = false

    @OptionGroup var model: DefaultTrainingOptions

    @OptionGroup var timing: TimingOptions

    func run() throws {
        let start = monotonicSeconds()
        let folder = try ResultsFolder(results)
        let environment = RunEnvironment.current()
        print(environment.header)

        print("\n== 1. Dense sgemm yardstick")
        let gemm = try GemmThroughput.measure(size: 1024, threads: [1, 2], timing: timing)
        for row in gemm { print(row.line) }
        for line in GemmThroughput.scalingWarnings(gemm, physicalCores: environment.physicalCores) { print(line) }
        fflush(nil)

        print("\n== 2. Linear layers: time ÷ dense time (same process, same kernels, interleaved)")
        let layers = try DefaultLayerSection.run(full: full, timing: timing)
        print(layers.table.text)
        for line in layers.targetLines(machine: environment.machine) { print(line) }
        fflush(nil)

        print("\n== 3. Blocks: forward + backward, dense (OpenBLAS and dense-blocks; * the faster) vs Pixelfly linears")
        let blocks = try DefaultBlockSection.run(options: model, timing: timing)
        print(blocks.table.text)
        fflush(nil)

        print("\n== 4. Training: MLP-Mixer on Fashion-MNIST, dense vs Pixelfly (and PyTorch's dense step)")
        let pytorchCompanion = DefaultPyTorchComparison.companion(model, threads: ComputeThreads.count)
        let (training, pytorchOutput) = try DefaultTrainingSection.run(options: model, full: full,
                                                                      companion: try? pytorchCompanion.get())
        let pytorch = DefaultPyTorchComparison.complete(pytorchCompanion, output: pytorchOutput, training: training)
        print(training.table.text)
        print(training.targetLine)
        for line in pytorch.lines { print(line) }

        var language: DefaultLanguageSection?
        if full {
            print("\n== 5. Training: byte-level GPT on the text corpus, dense vs Pixelfly")
            language = try DefaultLanguageSection.run(seed: model.seed)
            print(language!.table.text)
        }

        let report = DefaultReport(environment: environment, gemm: gemm, layers: layers, blocks: blocks,
                                   training: training, pytorch: pytorch, language: language, totalSeconds: monotonicSeconds() - start)
        try report.write(to: folder, command: CommandLine.arguments.joined(separator: " "))
        print("\nheadline: \(training.headline)")
        print("wrote \(folder.path)/summary.json, summary.md, layer-speedup.svg, accuracy-vs-time.svg "
              + "in \(format(report.totalSeconds, 0)) s")
    }
}
