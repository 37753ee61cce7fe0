import Butterfly
import PixelflyCore
import Testing

/// `FlatButterflyConfiguration.tileAlignedBlockSize`: the chosen b keeps exactly the grid's
/// density, and the choice follows its documented preference order.
@Suite("Flat butterfly mask: tile-aligned block size")
struct TileAlignedBlockSizeTests {
    @Test func chosenBlockSizeKeepsTheGridDensity() throws {
        for (output, input) in [(3072, 768), (768, 3072), (4096, 1024), (1024, 1024), (768, 768), (1536, 384)] {
            for k in 1...3 {
                let b = try FlatButterflyConfiguration.tileAlignedBlockSize(outputFeatures: output, inputFeatures: input, butterflySize: 16)
                let mask = try FlatButterflyMask(outputFeatures: output, inputFeatures: input,
                                                 configuration: FlatButterflyConfiguration(butterflySize: 16, factors: k, blockSize: b))
                #expect(abs(mask.blockDensity - Double(k + 1) / 16) < 1e-12, "\(input)→\(output) K \(k) b \(b): \(mask.blockDensity)")
            }
        }
    }

    @Test func preferenceOrder() throws {
        func aligned(_ out: Int, _ input: Int, preferred: Int = 32) throws -> Int {
            try FlatButterflyConfiguration.tileAlignedBlockSize(outputFeatures: out, inputFeatures: input, butterflySize: 16, preferred: preferred)
        }
        #expect(try aligned(4096, 1024) == 32)          // tiles 256 × 64: 32 divides both
        #expect(try aligned(3072, 768) == 48)           // tiles 192 × 48: 48 is the next divisor above 32
        #expect(try aligned(3072, 768, preferred: 16) == 16)
        #expect(try aligned(320, 320) == 20)            // tile 20: nothing in 33…64, largest below 32
        #expect(try aligned(16 * 7, 16 * 7) == 7)       // tile 7 (prime): 7 itself
        // b = 32 at 768↔3072 keeps partly set blocks: more than 3/16 of them.
        let quantised = try FlatButterflyMask(outputFeatures: 3072, inputFeatures: 768,
                                              configuration: FlatButterflyConfiguration(butterflySize: 16, factors: 2, blockSize: 32))
        #expect(quantised.blockDensity > 0.2)
    }

    @Test func sizesTheGridCannotStretchToThrow() {
        #expect(throws: FlatButterflyMaskError.self) {
            try FlatButterflyConfiguration.tileAlignedBlockSize(outputFeatures: 100, inputFeatures: 768, butterflySize: 16)
        }
        #expect(throws: FlatButterflyMaskError.self) {
            try FlatButterflyConfiguration.tileAlignedBlockSize(outputFeatures: 768, inputFeatures: 768, butterflySize: 0)
        }
    }
}
