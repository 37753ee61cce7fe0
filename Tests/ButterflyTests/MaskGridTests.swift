import Butterfly
import PixelflyCore
import Testing

/// The grid rule and its stretched, unquantised layout, checked entry by entry.
@Suite("Flat butterfly mask: grid and stretch")
struct MaskGridTests {
    /// Entry (i, j) is set iff i XOR j has at most one bit set and is below 2^K, written here
    /// independently of the library's formula (bit count, not power-of-two test).
    @Test(arguments: [2, 4, 8, 16, 32])
    func gridFollowsXorRule(butterflySize: Int) {
        let logB = butterflySize.trailingZeroBitCount
        for factors in 1...logB {
            let grid = FlatButterflyMask.gridMask(butterflySize: butterflySize, factors: factors)
            for i in 0..<butterflySize {
                for j in 0..<butterflySize {
                    let x = i ^ j
                    let expected = x.nonzeroBitCount == 0 || (x.nonzeroBitCount == 1 && x.trailingZeroBitCount < factors)
                    #expect(grid[i * butterflySize + j] == expected, "B=\(butterflySize) K=\(factors) (\(i),\(j))")
                }
                let rowCount = (0..<butterflySize).filter { grid[i * butterflySize + $0] }.count
                #expect(rowCount == factors + 1)
            }
            // Super-blocks: nothing outside the diagonal blocks of size 2^K.
            let superBlock = 1 << factors
            for i in 0..<butterflySize {
                for j in 0..<butterflySize where i / superBlock != j / superBlock {
                    #expect(!grid[i * butterflySize + j])
                }
            }
            let ones = grid.filter { $0 }.count
            #expect(Double(ones) / Double(butterflySize * butterflySize) == Double(factors + 1) / Double(butterflySize))
        }
    }

    /// 512×256 at B = 16, K = 2, b = 16: tiles 32×16 are whole blocks, so nothing is quantised and
    /// every element row has exactly K+1 nonzero tiles.
    @Test func stretchWithoutQuantisation() throws {
        let config = FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 16)
        let mask = try FlatButterflyMask(outputFeatures: 512, inputFeatures: 256, configuration: config)
        #expect(mask.tileRows == 32 && mask.tileColumns == 16)
        let grid = FlatButterflyMask.gridMask(butterflySize: 16, factors: 2)
        for row in stride(from: 0, to: 512, by: 7) {
            var tiles = Set<Int>()
            for column in 0..<256 where mask.elementIsSet(row: row, column: column) { tiles.insert(column / 16) }
            #expect(tiles.count == 3)
            for tile in tiles { #expect(grid[(row / 32) * 16 + tile]) }
        }
        for r in 0..<mask.blockRows {
            for c in 0..<mask.blockColumns {
                #expect(mask.blockIsSet(r, c) == grid[(r * 16 / 32) * 16 + c])
            }
        }
        #expect(mask.blockDensity == 3.0 / 16)
        #expect(mask.elementDensity == 3.0 / 16)
        #expect(mask.blocksPerBlockRow.allSatisfy { $0 == 3 })
        #expect(mask.parameterCount == 512 * 256 * 3 / 16)
        #expect(mask.forwardFLOPsPerRow == 2 * mask.parameterCount)
    }

    /// Density (K+1)/B before quantisation for every K when tiles are whole blocks.
    @Test func unquantisedDensityIsKPlusOneOverB() throws {
        for factors in 1...5 {
            let config = FlatButterflyConfiguration(butterflySize: 32, factors: factors, blockSize: 16)
            let mask = try FlatButterflyMask(outputFeatures: 1024, inputFeatures: 512, configuration: config)
            #expect(mask.elementDensity == Double(factors + 1) / 32)
            #expect(mask.blockDensity == Double(factors + 1) / 32)
        }
    }
}
