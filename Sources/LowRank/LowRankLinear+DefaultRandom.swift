import PixelflyCore

extension LowRankLinear {
    /// A rank-`rank` layer `inputFeatures → outputFeatures` drawn from `DefaultRandom`, for quick
    /// use: `try LowRankLinear<Float>(784, 256, rank: 16)`. The seeded form takes `rng:`.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, rank: Int, bias: Bool = false,
                            name: String = "lowrank", initialization: LowRankInitialization = .kaimingUniform) throws {
        var rng = DefaultRandom.next()
        try self.init(inputFeatures, outputFeatures, rank: rank, bias: bias, name: name,
                      initialization: initialization, rng: &rng)
    }
}
