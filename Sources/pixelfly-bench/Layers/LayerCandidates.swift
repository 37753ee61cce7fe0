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
    /// Monarch blocks; nil picks `monarchBlocks(input:output:)`.
    var nblocks: Int? = nil
    /// When set, each shape uses `FlatButterflyConfiguration.tileAlignedBlockSize` (preferring
    /// `mask.blockSize`) instead of `mask.blockSize` itself.
    var alignsBlockSize = false

    /// The mask configuration used at one shape.
    func mask(input: Int, output: Int) throws -> FlatButterflyConfiguration {
        guard alignsBlockSize else { return mask }
        var configuration = mask
        configuration.blockSize = try FlatButterflyConfiguration.tileAlignedBlockSize(
            outputFeatures: output, inputFeatures: input, butterflySize: mask.butterflySize, preferred: mask.blockSize)
        return configuration
    }

    /// `sparse` and `pixelfly` pick their block-sparse kernel per batch (`BlockSparseBackend.automatic`);
    /// `*-openblas` and `*-libxsmm` are the same layers pinned to one kernel, to compare both in
    /// one interleaved run.
    static let allKinds = ["dense", "dense-blocks", "sparse", "lowrank", "pixelfly", "pixelfly-gated", "monarch",
                           "sparse-openblas", "pixelfly-openblas", "sparse-libxsmm", "pixelfly-libxsmm"]

    /// The two dense layers the library can run, both always timed: `DenseLinear` (OpenBLAS) and
    /// the same matrix with every block kept on the block-sparse kernels (`BlockSparseLayout.full`,
    /// the sparse kinds' b). Every ratio is against the faster of the two in the same run: the
    /// issue asks the baseline to be the fastest dense the library has, and on an AMD Zen 4 the
    /// LIBXSMM strips ran dense 3–7 % faster than OpenBLAS at 1024 ↔ 4096
    /// (notebooks-md/kernel-passes/41-dense-on-the-block-kernel.md).
    static let denseKinds = ["dense", "dense-blocks"]

    /// The backend a kind pins (nil: chosen per batch).
    static func pinnedBackend(_ kind: String) -> BlockSparseBackend? {
        if kind.hasSuffix("-openblas") { return .openBLAS }
        if kind.hasSuffix("-libxsmm") { return .libxsmm }
        return nil
    }

    /// The power-of-two block count (2 … min(in, out)) whose Monarch layer has the parameter
    /// count closest to the Pixelfly layer's (flat butterfly blocks + rank·(in + out)), so that
    /// the two are compared at the same budget.
    func monarchBlocks(input: Int, output: Int) throws -> Int {
        if let nblocks { return nblocks }
        let flat = try FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration: mask(input: input, output: output))
        let pixelfly = BlockSparseLayout(mask: flat).storedCount + rank * (input + output)
        var best = 2
        var blocks = 2
        while blocks <= min(input, output) {
            let count = try MonarchShape(inputFeatures: input, outputFeatures: output, nblocks: blocks).parameterCount
            let bestCount = try MonarchShape(inputFeatures: input, outputFeatures: output, nblocks: best).parameterCount
            if abs(count - pixelfly) < abs(bestCount - pixelfly) { best = blocks }
            blocks *= 2
        }
        return best
    }

    func candidates(input: Int, output: Int, seed: UInt64) throws -> [LayerCandidate] {
        var rng = SeededRandom(seed: seed)
        let flat = try FlatButterflyMask(outputFeatures: output, inputFeatures: input, configuration: mask(input: input, output: output))
        var result: [LayerCandidate] = []
        for kind in kinds {
            switch kind {
            case "dense":
                result.append(LayerCandidate(kind: kind, layer: try DenseLinear<Float>(input, output, rng: &rng)))
            case "dense-blocks":
                let layout = try BlockSparseLayout.full(rows: output, cols: input, blockSize: flat.configuration.blockSize)
                result.append(LayerCandidate(kind: kind, layer: try BlockSparseLinear<Float>(layout: layout, rng: &rng)))
            case "sparse", "sparse-openblas", "sparse-libxsmm":
                let layer = try BlockSparseLinear<Float>(mask: flat, rng: &rng)
                layer.backend = Self.pinnedBackend(kind)
                result.append(LayerCandidate(kind: kind, layer: layer))
            case "lowrank":
                result.append(LayerCandidate(kind: kind, layer: try LowRankLinear<Float>(input, output, rank: rank, bias: true, rng: &rng)))
            case "pixelfly", "pixelfly-gated", "pixelfly-openblas", "pixelfly-libxsmm":
                let layer = try PixelflyLinear<Float>(mask: flat, rank: rank, combination: kind == "pixelfly-gated" ? .gated : .sum, rng: &rng)
                layer.sparse.backend = Self.pinnedBackend(kind)
                result.append(LayerCandidate(kind: kind, layer: layer))
            case "monarch":
                let blocks = try monarchBlocks(input: input, output: output)
                result.append(LayerCandidate(kind: "monarch-\(blocks)", layer: try MonarchLinear<Float>(input, output, nblocks: blocks, rng: &rng)))
            default:
                throw ConfigurationError("layers", "unknown layer kind \(kind); choose from \(Self.allKinds.joined(separator: ", "))")
            }
        }
        return result
    }
}
