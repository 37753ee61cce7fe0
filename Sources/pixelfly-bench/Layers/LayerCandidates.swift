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

    static let allKinds = ["dense", "sparse", "lowrank", "pixelfly", "pixelfly-gated"]

    func candidates(input: Int, output: Int, seed: UInt64) throws -> [LayerCandidate] {
        var rng = SeededRandom(seed: seed)
        let flat = try FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration: mask)
        var result: [LayerCandidate] = []
        for kind in kinds {
            switch kind {
            case "dense":
                result.append(LayerCandidate(kind: kind, layer: try DenseLinear<Float>(input, output, rng: &rng)))
            case "sparse":
                result.append(LayerCandidate(kind: kind, layer: try BlockSparseLinear<Float>(mask: flat, rng: &rng)))
            case "lowrank":
                result.append(LayerCandidate(kind: kind, layer: try LowRankLinear<Float>(input, output, rank: rank, bias: true, rng: &rng)))
            case "pixelfly", "pixelfly-gated":
                result.append(LayerCandidate(kind: kind, layer: try PixelflyLinear<Float>(
                    mask: flat, rank: rank, combination: kind == "pixelfly" ? .sum : .gated, rng: &rng)))
            default:
                throw ShapeError("layers", "unknown layer kind \(kind); choose from \(Self.allKinds.joined(separator: ", "))")
            }
        }
        return result
    }
}
