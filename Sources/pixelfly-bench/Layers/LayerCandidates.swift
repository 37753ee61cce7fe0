import Butterfly
import LowRank
import PixelflyCore

/// The linear layers `pixelfly-bench layers` compares, built for one (in, out) shape.
struct LayerCandidate {
    var kind: String
    var layer: any LinearLayer<Float>
}

/// What to build: the flat butterfly configuration and the low-rank rank.
struct LayerSettings: Codable, Sendable {
    var mask: FlatButterflyConfiguration
    var rank: Int
    var kinds: [String]

    /// `*-openblas` are the same layers on the OpenBLAS block-sparse kernel (the LIBXSMM one is
    /// the default), to compare both in one interleaved run.
    static let allKinds = ["dense", "sparse", "lowrank", "pixelfly", "pixelfly-gated", "sparse-openblas", "pixelfly-openblas"]

    func candidates(input: Int, output: Int, seed: UInt64) throws -> [LayerCandidate] {
        var rng = SeededRandom(seed: seed)
        let flat = try FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration: mask)
        var result: [LayerCandidate] = []
        for kind in kinds {
            switch kind {
            case "dense":
                result.append(LayerCandidate(kind: kind, layer: try DenseLinear<Float>(input, output, rng: &rng)))
            case "sparse", "sparse-openblas":
                let layer = try BlockSparseLinear<Float>(mask: flat, rng: &rng)
                if kind == "sparse-openblas" { layer.backend = .openBLAS }
                result.append(LayerCandidate(kind: kind, layer: layer))
            case "lowrank":
                result.append(LayerCandidate(kind: kind, layer: try LowRankLinear<Float>(input, output, rank: rank, bias: true, rng: &rng)))
            case "pixelfly", "pixelfly-gated", "pixelfly-openblas":
                let layer = try PixelflyLinear<Float>(mask: flat, rank: rank, combination: kind == "pixelfly-gated" ? .gated : .sum, rng: &rng)
                if kind == "pixelfly-openblas" { layer.sparse.backend = .openBLAS }
                result.append(LayerCandidate(kind: kind, layer: layer))
            default:
                throw ShapeError("layers", "unknown layer kind \(kind); choose from \(Self.allKinds.joined(separator: ", "))")
            }
        }
        return result
    }
}
