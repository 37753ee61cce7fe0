import ArgumentParser
import Foundation
import PixelflyModels
import PixelflyTraining
import PixelflyCore

/// `pixelfly-bench generate`: samples bytes from a trained byte-level GPT.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continues a prompt with a trained byte-level GPT (key/value cache, top-k / temperature sampling).")

    @Option(help: "A GPT checkpoint written by `pixelfly-bench train --model gpt --checkpoint`.")
    var checkpoint: String

    @Option(help: "The text to continue (UTF-8 bytes; at most the model's context).")
    var prompt: String

    @Option(help: "Bytes to generate.")
    var tokens: Int = 200

    @Option(help: "Sampling temperature; 0 picks the most likely byte.")
    var temperature: Double = 0.8

    @Option(help: "Sample among the k most likely bytes; 0 for all 256.")
    var topK: Int = 40

    @Option(help: "Seed of the sampling.")
    var seed: UInt64 = 0

    @Option(help: "Compute threads (default: 1; one token at a time is too little work to split).")
    var threads: Int = 1

    @Flag(help: "Recompute the whole window for every byte instead of using the key/value cache (the reference; slow).")
    var uncached = false

    func validate() throws {
        guard tokens >= 0 else { throw ValidationError("--tokens must be non-negative, got \(tokens)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        try ComputeThreads.setCount(threads)
        let trained = try TrainedCheckpoint(path: checkpoint)
        guard let gpt = trained.model as? GPT<Float> else {
            throw ModelFileError.wrongModelKind(path: checkpoint, kind: trained.configuration.model.name, needed: "byte-level GPT (--model gpt)")
        }
        let generator = try GPTGenerator(model: gpt, sampling: SamplingSettings(temperature: temperature, topK: topK, seed: seed),
                                         mode: uncached ? .uncached : .cached)
        let bytes = Array(prompt.utf8)
        let start = monotonicSeconds()
        try generator.start(prompt: bytes)
        var output = bytes
        output.reserveCapacity(bytes.count + tokens)
        for _ in 0..<tokens { output.append(try generator.next()) }
        let seconds = monotonicSeconds() - start
        print(String(decoding: output, as: UTF8.self))
        // Timing goes to standard error, so that standard output is the text alone.
        var standardError = StandardError()
        print("generated \(tokens) bytes in \(format(seconds, 3)) s (\(format(Double(tokens) / max(seconds, 1e-9), 1)) bytes/s), "
            + "\(uncached ? "uncached" : "key/value cache"), \(OpenBLASRuntime.summary)", to: &standardError)
    }
}

/// `print(…, to:)` target writing to standard error.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
