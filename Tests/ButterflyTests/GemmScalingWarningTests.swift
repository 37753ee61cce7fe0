import Testing
@testable import pixelfly_bench

/// The yardstick's warning that another load shared the cores (`GemmThroughput.scalingWarnings`):
/// made-up rows on both sides of the bound, and the cases where no comparison is possible.
@Suite("sgemm yardstick scaling warning")
struct GemmScalingWarningTests {
    static func row(threads: Int, gflops: Double, size: Int = 1024) -> GemmThroughput {
        GemmThroughput(size: size, threads: threads, time: TimingSample([1]), gflops: gflops)
    }

    @Test func warnsWhenTwoThreadsRunBelowTheBound() throws {
        // The measured case: 234.4 GFLOP/s on one thread, 227.5 on two.
        let warnings = GemmThroughput.scalingWarnings([Self.row(threads: 1, gflops: 234.4), Self.row(threads: 2, gflops: 227.5)],
                                                      physicalCores: 2)
        let warning = try #require(warnings.first)
        #expect(warnings.count == 1)
        #expect(warning.hasPrefix("warning: sgemm on 2 threads ran at 0.97× its 1-thread rate (at least 1.6× is expected"), "\(warning)")
        // Just below and just above 1.6×.
        #expect(GemmThroughput.scalingWarnings([Self.row(threads: 1, gflops: 100), Self.row(threads: 2, gflops: 159.9)],
                                               physicalCores: 2).count == 1)
        #expect(GemmThroughput.scalingWarnings([Self.row(threads: 1, gflops: 100), Self.row(threads: 2, gflops: 160.1)],
                                               physicalCores: 2).isEmpty)
    }

    @Test func staysQuietWhenScalingCannotBeJudged() {
        let rows = [Self.row(threads: 1, gflops: 234.4), Self.row(threads: 2, gflops: 227.5)]
        #expect(GemmThroughput.scalingWarnings(rows, physicalCores: 1).isEmpty)      // two threads on one core
        #expect(GemmThroughput.scalingWarnings(rows, physicalCores: nil).isEmpty)    // topology unknown
        #expect(GemmThroughput.scalingWarnings([rows[1]], physicalCores: 2).isEmpty) // no 1-thread row
        #expect(GemmThroughput.scalingWarnings([rows[0], Self.row(threads: 2, gflops: 100, size: 512)],
                                               physicalCores: 2).isEmpty)           // another size
        #expect(GemmThroughput.scalingWarnings([Self.row(threads: 1, gflops: 100), Self.row(threads: 2, gflops: 195)],
                                               physicalCores: 2).isEmpty)
    }
}
