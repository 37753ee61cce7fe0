import PixelflyCore

/// Makes one linear layer of a block: `(inputFeatures, outputFeatures, name, rng) → layer`.
///
/// Blocks never construct a concrete linear type. They call the factory they were given for
/// every projection (`fc1`, `fc2`, `query`, `key`, `value`, `output`), so that a model switches
/// between dense, Pixelfly, low-rank or butterfly linears by passing a different factory. The
/// `name` is the parameter prefix, e.g. `"blocks.0.attention.query"`.
public typealias LinearFactory<Scalar: TensorScalar> = (
    _ inputFeatures: Int, _ outputFeatures: Int, _ name: String, _ rng: inout SeededRandom
) throws -> any LinearLayer<Scalar>

/// Ready-made linear factories.
public enum LinearFactories {
    /// Dense `y = x·Wᵀ + b` (`DenseLinear`, PyTorch's default initialisation).
    public static func dense<Scalar: TensorScalar>(bias: Bool = true) -> LinearFactory<Scalar> {
        { inputFeatures, outputFeatures, name, rng in
            try DenseLinear<Scalar>(inputFeatures, outputFeatures, bias: bias, name: name, rng: &rng)
        }
    }
}
