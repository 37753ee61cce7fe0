extension DenseLinear {
    /// A dense layer `inputFeatures → outputFeatures` drawn from `DefaultRandom` — for quick
    /// use: `let layer = try DenseLinear<Float>(784, 256)`. The seeded form
    /// `init(_:_:bias:name:rng:)` draws from a generator you pass.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true,
                            name: String = "linear") throws {
        var rng = DefaultRandom.next()
        try self.init(inputFeatures, outputFeatures, bias: bias, name: name, rng: &rng)
    }
}
