import Butterfly
import PixelflyModels
import PixelflyTraining
import PixelflyCore
import Testing

/// Sampling from the byte-level GPT: the key/value cache gives the logits of the full forward,
/// steady-state decoding allocates nothing, and bad prompts or settings are named errors.
@Suite("Generate: GPT key/value cache and sampling", .serialized)
struct GenerationTests {
    static func trainedGPT(_ configuration: GPTConfiguration) throws -> GPT<Float> {
        let trainer = try Trainer(model: ModelConfiguration.gpt(configuration).makeModel(seed: 11, as: Float.self),
                                  schedule: WarmupCosineSchedule(peak: 1e-2, warmupSteps: 0, totalSteps: 10),
                                  loss: SoftmaxCrossEntropy(), hyperparameters: .init(), clipNorm: 1)
        let (inputs, labels) = TrainedTinyModel.batch(for: .gpt(configuration), seed: 12)
        for _ in 0..<3 { try trainer.step(inputs: inputs, labels: labels) }
        return try #require(trainer.model as? GPT<Float>)
    }

    static var configurations: [GPTConfiguration] {
        var butterfly = GPTConfiguration.tiny
        (butterfly.attentionScores, butterfly.linear) = (.flatButterfly(blockSize: 4, factors: 1), ExportReferenceTests.pixelfly)
        var untied = GPTConfiguration.tiny
        (untied.tiedHead, untied.headLinear, untied.depth) = (false, .lowRank(rank: 4), 2)
        return [.tiny, butterfly, untied]
    }

    /// 40 bytes from a 5-byte prompt cross the 16-token context twice (two window slides); at
    /// every step the cached logits equal the uncached full forward's to 1e-5 and the sampled
    /// bytes are identical.
    @Test(arguments: 0..<3)
    func cachedMatchesUncached(_ index: Int) throws {
        let model = try Self.trainedGPT(Self.configurations[index])
        let settings = SamplingSettings(temperature: 0.9, topK: 20, seed: 5)
        let cached = try GPTGenerator(model: model, sampling: settings, mode: .cached)
        let uncached = try GPTGenerator(model: model, sampling: settings, mode: .uncached)
        let prompt = Array("Hello".utf8)
        try cached.start(prompt: prompt)
        try uncached.start(prompt: prompt)
        var worst = 0.0
        for step in 0..<40 {
            let difference = Double(try cached.logits.maxAbsDifference(uncached.logits))
            worst = max(worst, difference)
            #expect(difference <= 1e-5, "step \(step): cached and uncached logits differ by \(difference)")
            let (a, b) = (try cached.next(), try uncached.next())
            #expect(a == b, "step \(step): cached sampled \(a), uncached \(b)")
            #expect(cached.window == uncached.window)
        }
        #expect(worst <= 1e-5)
    }

    @Test func steadyStateDecodingAllocatesNothing() throws {
        let model = try Self.trainedGPT(Self.configurations[1])
        let generator = try GPTGenerator(model: model, sampling: SamplingSettings(temperature: 1, topK: 0, seed: 1))
        try generator.start(prompt: Array("abc".utf8))
        for _ in 0..<20 { _ = try generator.next() }  // sizes every buffer, including one window slide
        let count = try countAllocations { for _ in 0..<30 { _ = try generator.next() } }
        #expect(count == 0, "\(count) allocations in 30 decoding steps (with window slides)")
    }

    @Test func greedyIsDeterministic() throws {
        let model = try Self.trainedGPT(.tiny)
        var texts: [[UInt8]] = []
        for seed in [1, 2] as [UInt64] {
            let generator = try GPTGenerator(model: model, sampling: SamplingSettings(temperature: 0, topK: 0, seed: seed))
            try generator.start(prompt: Array("x".utf8))
            texts.append(try (0..<10).map { _ in try generator.next() })
        }
        #expect(texts[0] == texts[1], "temperature 0 must not depend on the seed")
    }

    @Test func badPromptsAndSettingsAreNamedErrors() throws {
        var rng = SeededRandom(seed: 21)
        let model = try GPT<Float>(.tiny, rng: &rng)
        let generator = try GPTGenerator(model: model)
        #expect(throws: GenerationError.promptTooLong(bytes: 17, context: 16)) {
            try generator.start(prompt: Array(repeating: 65, count: 17))
        }
        #expect(throws: GenerationError.emptyPrompt) { try generator.start(prompt: []) }
        #expect(throws: GenerationError.invalidTemperature(-1)) {
            _ = try GPTGenerator(model: model, sampling: SamplingSettings(temperature: -1))
        }
        #expect(throws: GenerationError.invalidTopK(300, vocabulary: 256)) {
            _ = try GPTGenerator(model: model, sampling: SamplingSettings(topK: 300))
        }
        let message = "\(GenerationError.promptTooLong(bytes: 17, context: 16))"
        #expect(message.contains("17 bytes") && message.contains("at most 16"))
    }
}

