import Foundation
@testable import PixelflyModels
import Testing

@Suite("Blocks: vectorised exp")
struct BlocksVectorExpTests {
    /// Relative error against Double `exp` over the whole finite range, in steps of 1/64 plus
    /// the clamping behaviour at the ends.
    @Test func matchesDoubleExpWithinTwoUlps() {
        var worst = 0.0
        var start: Float = -87
        while start < 88 {
            let lanes = SIMD8<Float>((0..<8).map { start + Float($0) / 64 })
            let result = VectorExp.exp(lanes)
            for lane in 0..<8 {
                let exact = Foundation.exp(Double(lanes[lane]))
                worst = max(worst, abs(Double(result[lane]) - exact) / exact)
            }
            start += 8.0 / 64
        }
        #expect(worst < 2 * Double(Float.ulpOfOne), "worst relative error \(worst)")
        let ends = VectorExp.exp(SIMD8<Float>(-Float.infinity, -1000, -88, 0, 88.3, 89, 1000, Float.infinity))
        #expect(ends[3] == 1)
        for lane in 0..<8 { #expect(ends[lane].isFinite && ends[lane] > 0, "lane \(lane): \(ends[lane])") }
    }
}
