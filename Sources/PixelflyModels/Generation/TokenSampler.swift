#if canImport(Glibc)
import Glibc
#endif
import PixelflyCore

/// How `GPTGenerator` picks the next byte from the logits.
public struct SamplingSettings: Sendable, Equatable {
    /// Logits are divided by it before the softmax; 0 picks the most likely byte (greedy).
    public var temperature: Double
    /// Sample among the k most likely bytes only; 0 keeps the whole vocabulary.
    public var topK: Int
    /// Seeds the draws: the same seed, prompt and model give the same text.
    public var seed: UInt64

    public init(temperature: Double = 0.8, topK: Int = 40, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
    }

    func validate(vocabulary: Int) throws {
        guard temperature.isFinite, temperature >= 0 else { throw GenerationError.invalidTemperature(temperature) }
        guard topK >= 0, topK <= vocabulary else { throw GenerationError.invalidTopK(topK, vocabulary: vocabulary) }
    }
}

/// Top-k / temperature sampling from one row of logits, without allocating: with the k largest
/// logits l_i (ties: lower id first) and temperature τ,
///
///     p_i = exp((l_i − l_max)/τ) / Σ_j exp((l_j − l_max)/τ),
///
/// one uniform draw u ∈ [0, 1) from `SeededRandom` picks the first i whose cumulative p exceeds u.
struct TokenSampler {
    let settings: SamplingSettings
    private var rng: SeededRandom
    /// The candidate ids, best first (V slots).
    private var candidates: [Int]

    init(_ settings: SamplingSettings, vocabulary: Int) throws {
        try settings.validate(vocabulary: vocabulary)
        self.settings = settings
        rng = SeededRandom(seed: settings.seed)
        candidates = [Int](repeating: 0, count: vocabulary)
    }

    mutating func sample(_ logits: Matrix<Float>) -> Int {
        let k = settings.temperature == 0 ? 1 : (settings.topK == 0 ? logits.count : settings.topK)
        let tau = settings.temperature
        let u = k == 1 ? 0 : rng.nextUnit()
        return logits.withUnsafeBufferPointer { l in
            candidates.withUnsafeMutableBufferPointer { c in
                // Insertion into a sorted list of the k best: O(V·k), in place.
                var count = 0
                for id in l.indices {
                    if count == k {
                        guard l[id] > l[c[k - 1]] else { continue }
                        c[k - 1] = id
                    } else {
                        c[count] = id
                        count += 1
                    }
                    var position = count - 1
                    while position > 0, l[c[position - 1]] < l[id] {
                        c[position] = c[position - 1]
                        c[position - 1] = id
                        position -= 1
                    }
                }
                if k == 1 { return c[0] }
                let top = Double(l[c[0]])
                var total = 0.0
                for i in 0..<k { total += exp((Double(l[c[i]]) - top) / tau) }
                var threshold = u * total
                for i in 0..<k {
                    threshold -= exp((Double(l[c[i]]) - top) / tau)
                    if threshold < 0 { return c[i] }
                }
                return c[k - 1]
            }
        }
    }
}
