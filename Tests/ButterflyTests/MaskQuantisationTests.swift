import Butterfly
import PixelflyCore
import Testing

/// Block quantisation, the documented densities, and the global and shuffle options.
@Suite("Flat butterfly mask: quantisation and options")
struct MaskQuantisationTests {
    /// Brute force: a block is kept iff one of its elements is set.
    func checkQuantisation(_ mask: FlatButterflyMask) {
        let b = mask.configuration.blockSize
        for r in 0..<mask.blockRows {
            for c in 0..<mask.blockColumns {
                var any = false
                for i in (r * b)..<((r + 1) * b) where !any {
                    for j in (c * b)..<((c + 1) * b) where mask.elementIsSet(row: i, column: j) { any = true; break }
                }
                #expect(mask.blockIsSet(r, c) == any, "block (\(r), \(c))")
            }
        }
    }

    /// Brute-force element density.
    func countedElementDensity(_ mask: FlatButterflyMask) -> Double {
        var set = 0
        for i in 0..<mask.outputFeatures {
            for j in 0..<mask.inputFeatures where mask.elementIsSet(row: i, column: j) { set += 1 }
        }
        return Double(set) / Double(mask.outputFeatures * mask.inputFeatures)
    }

    /// The densities the method notes document: 3072×768 (either orientation) at 16/2/32 → 5/24,
    /// 768×768 → 2/9, 2048×512 at 32/3/16 → 1/8.
    @Test func documentedQuantisedDensities() throws {
        let reference = FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32)
        for (out, input) in [(3072, 768), (768, 3072)] {
            let mask = try FlatButterflyMask(outputFeatures: out, inputFeatures: input, configuration: reference)
            #expect(mask.nonzeroBlocks * 24 == mask.blocks.count * 5)
            #expect(abs(mask.blockDensity - 0.2083) < 5e-5)
            #expect(mask.elementDensity == 3.0 / 16)
            checkQuantisation(mask)
        }
        let square = try FlatButterflyMask(outputFeatures: 768, inputFeatures: 768, configuration: reference)
        #expect(square.nonzeroBlocks * 9 == square.blocks.count * 2)
        #expect(abs(square.blockDensity - 0.2222) < 5e-5)
        checkQuantisation(square)
        // Rows straddling two tiles keep different block counts (the case the init must handle).
        #expect(Set(square.blocksPerBlockRow).count > 1)

        let wide = try FlatButterflyMask(outputFeatures: 2048, inputFeatures: 512,
                                         configuration: FlatButterflyConfiguration(butterflySize: 32, factors: 3, blockSize: 16))
        #expect(wide.blockDensity == 0.125)
        checkQuantisation(wide)
    }

    /// Global rows and columns are dense; the rest follows the grid; counts agree with brute force.
    @Test func globalBandIsDense() throws {
        let config = FlatButterflyConfiguration(butterflySize: 8, factors: 1, blockSize: 16, globalSize: 40)
        let mask = try FlatButterflyMask(outputFeatures: 256, inputFeatures: 128, configuration: config)
        for i in 0..<256 { for j in 0..<40 { #expect(mask.elementIsSet(row: i, column: j)) } }
        for i in 0..<40 { for j in 0..<128 { #expect(mask.elementIsSet(row: i, column: j)) } }
        for r in 0..<mask.blockRows { for c in 0..<3 { #expect(mask.blockIsSet(r, c)) } }
        #expect(mask.blockIsSet(15, 7) == mask.grid[7 * 8 + 7])
        #expect(!mask.blockIsSet(15, 3)) // grid (7, 1): 7 XOR 1 = 6, not kept at K = 1
        #expect(abs(mask.elementDensity - countedElementDensity(mask)) < 1e-12)
        checkQuantisation(mask)
    }

    /// The shuffle permutes grid columns: each row and column keeps K+1 cells, the permutation
    /// is seeded and reproducible, and cells now leave the super-blocks.
    @Test func columnShuffle() throws {
        let config = FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 16, shuffleSeed: 7)
        let mask = try FlatButterflyMask(outputFeatures: 256, inputFeatures: 256, configuration: config)
        let base = FlatButterflyMask.gridMask(butterflySize: 16, factors: 2)
        let pi = mask.gridColumnPermutation
        #expect(Set(pi) == Set(0..<16) && pi != Array(0..<16))
        for i in 0..<16 {
            for j in 0..<16 { #expect(mask.grid[i * 16 + j] == base[i * 16 + pi[j]]) }
            #expect((0..<16).filter { mask.grid[i * 16 + $0] }.count == 3)
            #expect((0..<16).filter { mask.grid[$0 * 16 + i] }.count == 3)
        }
        let outside = (0..<256).contains { mask.grid[$0] && ($0 / 16) / 4 != ($0 % 16) / 4 }
        #expect(outside)
        let again = try FlatButterflyMask(outputFeatures: 256, inputFeatures: 256, configuration: config)
        #expect(again == mask)
        #expect(mask.blockDensity == 3.0 / 16)
        checkQuantisation(mask)
    }
}
