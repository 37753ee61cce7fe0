import Butterfly
import Testing

/// Every configuration the rule cannot build throws the error naming its constraint.
@Suite("Flat butterfly mask: invalid input")
struct MaskErrorTests {
    func error(out: Int = 512, input: Int = 512, _ config: FlatButterflyConfiguration) -> FlatButterflyMaskError? {
        do {
            _ = try FlatButterflyMask(outputFeatures: out, inputFeatures: input, configuration: config)
            return nil
        } catch let error as FlatButterflyMaskError {
            return error
        } catch {
            return nil
        }
    }

    @Test func butterflySizeMustBeAPowerOfTwo() {
        #expect(error(.init(butterflySize: 12)) == .butterflySizeNotPowerOfTwo(12, suggestions: [8, 16]))
        #expect(error(.init(butterflySize: 1, factors: 1)) == .butterflySizeNotPowerOfTwo(1, suggestions: [2]))
        #expect(error(.init(butterflySize: 0)) != nil)
        #expect("\(error(.init(butterflySize: 12))!)".contains("8 or 16"))
    }

    @Test func factorsMustBeBetweenOneAndLogB() {
        #expect(error(.init(butterflySize: 16, factors: 0)) == .factorsOutOfRange(0, butterflySize: 16, valid: 1...4))
        #expect(error(.init(butterflySize: 16, factors: 5)) == .factorsOutOfRange(5, butterflySize: 16, valid: 1...4))
        #expect(error(.init(butterflySize: 16, factors: 4)) == nil)
    }

    @Test func blockSizeMustBePositive() {
        #expect(error(.init(blockSize: 0)) == .blockSizeNotPositive(0))
        #expect(error(.init(blockSize: -16)) == .blockSizeNotPositive(-16))
    }

    @Test func dimensionsMustBeMultiplesOfLcmOfBAndBlock() {
        let e = error(out: 1000, .init(butterflySize: 16, factors: 2, blockSize: 32))
        #expect(e == .dimensionNotDivisible(dimension: "out", size: 1000, multipleOf: 32, butterflySize: 16, blockSize: 32,
                                            suggestions: [992, 1024]))
        #expect("\(e!)".contains("992 or 1024"))
        // lcm(16, 48) = 48: 768 works, 800 does not.
        #expect(error(out: 768, input: 768, .init(butterflySize: 16, blockSize: 48)) == nil)
        #expect(error(out: 768, input: 800, .init(butterflySize: 16, blockSize: 48))
                == .dimensionNotDivisible(dimension: "in", size: 800, multipleOf: 48, butterflySize: 16, blockSize: 48,
                                          suggestions: [768, 816]))
        #expect(error(out: 0, .init()) == .dimensionNotDivisible(dimension: "out", size: 0, multipleOf: 32, butterflySize: 16,
                                                                 blockSize: 32, suggestions: [32]))
        #expect(error(out: 16, input: 512, .init(butterflySize: 16, blockSize: 32)) != nil)
    }

    @Test func globalSizeMustFit() {
        #expect(error(out: 256, input: 512, .init(globalSize: -1)) == .globalSizeOutOfRange(-1, maximum: 256))
        #expect(error(out: 256, input: 512, .init(globalSize: 257)) == .globalSizeOutOfRange(257, maximum: 256))
        #expect(error(out: 256, input: 512, .init(globalSize: 256)) == nil)
    }
}
