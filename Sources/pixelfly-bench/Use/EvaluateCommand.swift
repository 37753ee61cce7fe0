import ArgumentParser
import Foundation
import PixelflyTraining
import PixelflyCore
import PixelflyModels

/// `pixelfly-bench evaluate`: held-out loss and accuracy of a training checkpoint, no training.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluates a trained checkpoint on the held-out split (Fashion-MNIST test images, or the GPT's validation windows).")

    @Option(help: "A checkpoint written by `pixelfly-bench train --checkpoint`.")
    var checkpoint: String

    @Option(help: "Fashion-MNIST directory (default: the one the checkpoint was trained with).")
    var dataDirectory: String?

    @Option(help: "Text corpus for gpt (default: the one the checkpoint was trained with).")
    var corpus: String?

    @Option(help: "Use only the first N test images.")
    var testLimit: Int?

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print the result as JSON (with the environment block) instead of text.")
    var json = false

    func run() throws {
        if let threads { try ComputeThreads.setCount(threads) }
        let result = try CheckpointEvaluation.evaluate(checkpoint: checkpoint, dataDirectory: dataDirectory,
                                                       corpusPath: corpus, testLimit: testLimit)
        if json {
            let document = ResultDocument(command: "evaluate", environment: RunEnvironment.current(),
                                          configuration: ["checkpoint": checkpoint], results: result)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
            return
        }
        print(RunEnvironment.current().header)
        let what = result.model == "gpt" ? "validation next-byte" : "test"
        print("\(result.model) at step \(result.step), \(result.parameterCount) parameters: "
            + "\(what) accuracy \(format(result.accuracy * 100, 2))%, loss \(format(result.loss, 4)) over \(result.examples) "
            + (result.model == "gpt" ? "bytes" : "images"))
    }
}
