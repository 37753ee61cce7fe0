/// Densities and costs of a flat block butterfly mask.
extension FlatButterflyMask {
    /// Kept blocks.
    public var nonzeroBlocks: Int { blocks.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Kept blocks ÷ all blocks (after quantisation; also the stored-element density).
    public var blockDensity: Double { Double(nonzeroBlocks) / Double(blocks.count) }

    /// Set elements ÷ all elements before quantisation (stretched grid + global rows/columns).
    public var elementDensity: Double {
        let bSize = configuration.butterflySize
        let g = configuration.globalSize
        let gridOnes = grid.reduce(0) { $0 + ($1 ? 1 : 0) }
        // Stretched grid ones, then add the global rows/columns that were not already set.
        var set = gridOnes * tileRows * tileColumns
        if g > 0 {
            set = 0
            for i in 0..<bSize {
                for j in 0..<bSize {
                    // Elements of tile (i, j) outside the global band; the band itself is all set.
                    let rows = max(0, min((i + 1) * tileRows, outputFeatures) - max(i * tileRows, g))
                    let cols = max(0, min((j + 1) * tileColumns, inputFeatures) - max(j * tileColumns, g))
                    if grid[i * bSize + j] { set += rows * cols }
                }
            }
            set += g * inputFeatures + (outputFeatures - g) * g
        }
        return Double(set) / Double(outputFeatures * inputFeatures)
    }

    /// Stored weights: kept blocks × b².
    public var parameterCount: Int { nonzeroBlocks * configuration.blockSize * configuration.blockSize }

    /// Multiply-adds ×2 of one forward row: 2 × stored weights.
    public var forwardFLOPsPerRow: Int { 2 * parameterCount }

    /// Kept blocks in each block row.
    public var blocksPerBlockRow: [Int] {
        (0..<blockRows).map { r in (0..<blockColumns).reduce(0) { $0 + (blockIsSet(r, $1) ? 1 : 0) } }
    }
}
