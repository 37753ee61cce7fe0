import Testing
@testable import pixelfly_bench

/// A gated `train` child leaves the FMA probe out (`RunEnvironment.current(measuresFMAPeak:)`):
/// it starts beside its siblings, and a probe sharing the cores reads a fraction of the peak.
@Suite("run environment: FMA peak")
struct RunEnvironmentFMAPeakTests {
    @Test func aRunThatSkipsTheProbeSaysSo() {
        let skipped = RunEnvironment.current(measuresFMAPeak: false)
        #expect(skipped.fmaPeak == nil)
        #expect(skipped.header.contains("FMA peak of one core: not measured in this process"), "\(skipped.header)")
    }

    @Test func aRunThatMeasuresCarriesThePeak() {
        let measured = RunEnvironment.current()
        #expect(measured.fmaPeak != nil)
        #expect(!measured.header.contains("not measured in this process"), "\(measured.header)")
    }
}
