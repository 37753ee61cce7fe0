import PixelflyCore

/// Parameters of a flat block butterfly (Pixelfly) sparsity pattern.
public struct FlatButterflyConfiguration: Sendable, Equatable, Codable {
    /// B: the grid is B×B (a power of two ≥ 2).
    public var butterflySize: Int
    /// K: the grid keeps the identity and the supports of the first K butterfly factors
    /// (1 ≤ K ≤ log2 B).
    public var factors: Int
    /// b: the stored layout is quantised to b×b blocks.
    public var blockSize: Int
    /// g: the first g rows and the first g columns (elements) are dense. 0 disables.
    public var globalSize: Int
    /// When set, the B grid columns are permuted by a seeded Fisher–Yates shuffle, so the sparse
    /// part mixes across super-blocks.
    public var shuffleSeed: UInt64?

    public init(butterflySize: Int = 16, factors: Int = 2, blockSize: Int = 32, globalSize: Int = 0,
                shuffleSeed: UInt64? = nil) {
        self.butterflySize = butterflySize
        self.factors = factors
        self.blockSize = blockSize
        self.globalSize = globalSize
        self.shuffleSeed = shuffleSeed
    }
}

/// The flat block butterfly mask of a weight of shape (out, in), quantised to b×b blocks.
///
/// 1. Grid G (B×B): `G[i, j] = 1` iff `i XOR j = 0` or `i XOR j = 2^k` for some `k < K` — the
///    identity plus the supports of the first K butterfly factors, summed instead of multiplied.
///    Each grid row has K+1 ones; G is block-diagonal with B/2^K super-blocks of size 2^K.
/// 2. Optional column shuffle: `G'[i, j] = G[i, π(j)]` for a seeded permutation π.
/// 3. Stretch: cell (i, j) becomes the tile of rows `[i·out/B, (i+1)·out/B)` and columns
///    `[j·in/B, (j+1)·in/B)` (a Kronecker product with a ones tile).
/// 4. Global: rows and columns `< g` become dense.
/// 5. Quantise: block (R, C) of size b×b is kept iff any element of it is set.
public struct FlatButterflyMask: Sendable, Equatable {
    public let outputFeatures: Int
    public let inputFeatures: Int
    public let configuration: FlatButterflyConfiguration
    /// The B×B grid after the optional column shuffle, row-major.
    public let grid: [Bool]
    /// Grid column permutation π (identity without shuffle).
    public let gridColumnPermutation: [Int]
    /// Kept blocks, row-major over (out/b) × (in/b).
    public let blocks: [Bool]

    public var blockRows: Int { outputFeatures / configuration.blockSize }
    public var blockColumns: Int { inputFeatures / configuration.blockSize }
    public var tileRows: Int { outputFeatures / configuration.butterflySize }
    public var tileColumns: Int { inputFeatures / configuration.butterflySize }

    /// Builds the mask, or throws `FlatButterflyMaskError` naming the violated constraint.
    public init(outputFeatures: Int, inputFeatures: Int, configuration: FlatButterflyConfiguration) throws {
        let (bSize, k, block, g) = (configuration.butterflySize, configuration.factors,
                                    configuration.blockSize, configuration.globalSize)
        guard bSize >= 2, bSize & (bSize - 1) == 0 else {
            throw FlatButterflyMaskError.butterflySizeNotPowerOfTwo(bSize, suggestions: FlatButterflyMaskError.nearestPowersOfTwo(around: bSize))
        }
        let logB = bSize.trailingZeroBitCount
        guard (1...logB).contains(k) else {
            throw FlatButterflyMaskError.factorsOutOfRange(k, butterflySize: bSize, valid: 1...logB)
        }
        guard block > 0 else { throw FlatButterflyMaskError.blockSizeNotPositive(block) }
        let multiple = leastCommonMultiple(bSize, block)
        for (name, size) in [("out", outputFeatures), ("in", inputFeatures)] where size <= 0 || size % multiple != 0 {
            throw FlatButterflyMaskError.dimensionNotDivisible(
                dimension: name, size: size, multipleOf: multiple, butterflySize: bSize, blockSize: block,
                suggestions: FlatButterflyMaskError.nearestMultiples(of: multiple, around: max(size, 0)))
        }
        guard g >= 0, g <= min(outputFeatures, inputFeatures) else {
            throw FlatButterflyMaskError.globalSizeOutOfRange(g, maximum: min(outputFeatures, inputFeatures))
        }
        self.outputFeatures = outputFeatures
        self.inputFeatures = inputFeatures
        self.configuration = configuration
        var permutation = Array(0..<bSize)
        if let seed = configuration.shuffleSeed {
            var rng = SeededRandom(seed: seed)
            permutation = try rng.permutation(bSize)
        }
        gridColumnPermutation = permutation
        let base = Self.gridMask(butterflySize: bSize, factors: k)
        grid = (0..<(bSize * bSize)).map { base[($0 / bSize) * bSize + permutation[$0 % bSize]] }
        blocks = Self.quantise(outputFeatures: outputFeatures, inputFeatures: inputFeatures,
                               configuration: configuration, grid: grid)
    }

    /// The unshuffled B×B grid, row-major: `i XOR j ∈ {0} ∪ {2^k : k < K}`.
    public static func gridMask(butterflySize: Int, factors: Int) -> [Bool] {
        (0..<(butterflySize * butterflySize)).map { index in
            let difference = (index / butterflySize) ^ (index % butterflySize)
            return difference == 0 || (difference & (difference - 1) == 0 && difference < (1 << factors))
        }
    }

    /// Whether element (row, column) is set before block quantisation (stretched grid + global).
    public func elementIsSet(row: Int, column: Int) -> Bool {
        let g = configuration.globalSize
        if row < g || column < g { return true }
        let bSize = configuration.butterflySize
        return grid[(row / tileRows) * bSize + column / tileColumns]
    }

    /// Whether block (blockRow, blockColumn) is kept.
    public func blockIsSet(_ blockRow: Int, _ blockColumn: Int) -> Bool {
        blocks[blockRow * blockColumns + blockColumn]
    }

    private static func quantise(outputFeatures: Int, inputFeatures: Int,
                                 configuration: FlatButterflyConfiguration, grid: [Bool]) -> [Bool] {
        let b = configuration.blockSize
        let bSize = configuration.butterflySize
        let (tileRows, tileColumns) = (outputFeatures / bSize, inputFeatures / bSize)
        let g = configuration.globalSize
        let (blockRows, blockColumns) = (outputFeatures / b, inputFeatures / b)
        var blocks = [Bool](repeating: false, count: blockRows * blockColumns)
        for r in 0..<blockRows {
            // Grid rows this block row touches: those of its first and last element rows.
            let gridRows = (r * b / tileRows)...(((r + 1) * b - 1) / tileRows)
            for c in 0..<blockColumns {
                if r * b < g || c * b < g { blocks[r * blockColumns + c] = true; continue }
                let gridColumns = (c * b / tileColumns)...(((c + 1) * b - 1) / tileColumns)
                blocks[r * blockColumns + c] = gridRows.contains { i in gridColumns.contains { j in grid[i * bSize + j] } }
            }
        }
        return blocks
    }
}

/// lcm(a, b) for positive integers.
func leastCommonMultiple(_ a: Int, _ b: Int) -> Int {
    a / greatestCommonDivisor(a, b) * b
}
