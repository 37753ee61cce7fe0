import PixelflyCore

/// Samples bytes from a trained `GPT`, continuing a prompt.
///
/// The prompt (at most T bytes, T the context) fills the window; each `next()` samples a byte
/// from the logits after the window (`SamplingSettings`) and appends it. When the window is
/// full, it keeps its last ⌈T/2⌉ tokens at positions 0…, recomputed (learned positions are
/// absolute, so cached keys cannot be shifted), and continues.
///
/// `.cached` (the default) computes each new token's logits with `GPTDecoder`'s key/value
/// cache — steady state allocation-free; `.uncached` reruns the whole window through
/// `GPT.forward` (zero-padded to T, causal, so padding does not change earlier rows) for every
/// token — the reference the tests compare the cache against.
public final class GPTGenerator {
    public enum Mode: Sendable { case cached, uncached }

    public let model: GPT<Float>
    public let mode: Mode
    /// The tokens the model currently sees.
    public private(set) var window: [Int] = []
    private let decoder: GPTDecoder
    private var sampler: TokenSampler
    private var uncachedInput: Matrix<Float>
    private var uncachedLogits = Matrix<Float>(rows: 0, cols: 0)
    private var logitsRow: Matrix<Float>

    public init(model: GPT<Float>, sampling: SamplingSettings = .init(), mode: Mode = .cached) throws {
        self.model = model
        self.mode = mode
        decoder = try GPTDecoder(model)
        sampler = try TokenSampler(sampling, vocabulary: model.configuration.vocabulary)
        window.reserveCapacity(model.configuration.context)
        uncachedInput = Matrix(rows: 1, cols: model.configuration.context)
        logitsRow = Matrix(rows: 1, cols: model.configuration.vocabulary)
    }

    /// The logits (1, V) of the byte after the window.
    public var logits: Matrix<Float> { mode == .cached ? decoder.logits : logitsRow }

    /// Fills the window with `prompt`. Throws `GenerationError` if it is empty or longer than
    /// the context.
    public func start(prompt: [UInt8]) throws {
        let context = model.configuration.context
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard prompt.count <= context else { throw GenerationError.promptTooLong(bytes: prompt.count, context: context) }
        window.removeAll(keepingCapacity: true)
        window.append(contentsOf: prompt.lazy.map(Int.init))
        try recompute()
    }

    /// Samples the next byte, appends it to the window and returns it.
    public func next() throws -> UInt8 {
        let token = sampler.sample(logits)
        let context = model.configuration.context
        if window.count == context {
            window.removeFirst(context - (context + 1) / 2)
            window.append(token)
            try recompute()
        } else {
            window.append(token)
            if mode == .cached { try decoder.append(token) } else { try forwardWindow() }
        }
        return UInt8(token)
    }

    /// Logits after the whole window, from scratch.
    private func recompute() throws {
        switch mode {
        case .cached:
            decoder.reset()
            for i in 0..<window.count { try decoder.append(window[i]) }
        case .uncached:
            try forwardWindow()
        }
    }

    private func forwardWindow() throws {
        let (v, last) = (model.configuration.vocabulary, window.count - 1)
        uncachedInput.withUnsafeMutableBufferPointer { ids in
            for i in ids.indices { ids[i] = i < window.count ? Float(window[i]) : 0 }
        }
        try model.forward(uncachedInput, into: &uncachedLogits)
        for j in 0..<v { logitsRow[0, j] = uncachedLogits[last, j] }
    }
}
