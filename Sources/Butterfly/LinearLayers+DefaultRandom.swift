import PixelflyCore

// Quick initialisers: the same layers as the seeded forms (`rng:`), drawn from `DefaultRandom`.

extension PixelflyLinear {
    /// A Pixelfly layer `inputFeatures → outputFeatures` drawn from `DefaultRandom`:
    /// `try PixelflyLinear<Float>(1024, 4096, mask: .init(butterflySize: 16, factors: 2, blockSize: 32), rank: 64)`.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, mask configuration: FlatButterflyConfiguration,
                            rank: Int, bias: Bool = true, combination: PixelflyCombination = .sum,
                            name: String = "pixelfly") throws {
        var rng = DefaultRandom.next()
        try self.init(inputFeatures, outputFeatures, mask: configuration, rank: rank, bias: bias,
                      combination: combination, name: name, rng: &rng)
    }
}

extension BlockSparseLinear {
    /// A block-sparse layer on `mask`'s kept blocks, drawn from `DefaultRandom`.
    public convenience init(mask: FlatButterflyMask, bias: Bool = true, name: String = "sparse",
                            outputVarianceShare: Double = 1) throws {
        var rng = DefaultRandom.next()
        try self.init(mask: mask, bias: bias, name: name, outputVarianceShare: outputVarianceShare, rng: &rng)
    }

    /// A block-sparse layer `inputFeatures → outputFeatures` on the flat butterfly mask
    /// `configuration`, drawn from `DefaultRandom`.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, mask configuration: FlatButterflyConfiguration,
                            bias: Bool = true, name: String = "sparse") throws {
        let mask = try FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures,
                                         configuration: configuration)
        var rng = DefaultRandom.next()
        try self.init(mask: mask, bias: bias, name: name, rng: &rng)
    }

    /// A block-sparse layer `inputFeatures → outputFeatures` on the flat butterfly mask
    /// `configuration`, drawn from `rng`.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, mask configuration: FlatButterflyConfiguration,
                            bias: Bool = true, name: String = "sparse", rng: inout SeededRandom) throws {
        let mask = try FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures,
                                         configuration: configuration)
        try self.init(mask: mask, bias: bias, name: name, rng: &rng)
    }
}

extension ButterflyLinear {
    /// A butterfly layer `inputFeatures → outputFeatures` drawn from `DefaultRandom`.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true,
                            products: [StrideOrder] = [.increasing], name: String = "butterfly") throws {
        var rng = DefaultRandom.next()
        try self.init(inputFeatures, outputFeatures, bias: bias, products: products, name: name, rng: &rng)
    }
}
