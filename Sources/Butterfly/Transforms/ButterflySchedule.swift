/// How the forward pass walks memory: pairs of factors with strides {s, 2s} are fused into one
/// radix-4 pass (four points, two 2×2 twiddle layers, one load and one store), and consecutive
/// passes that stay inside blocks of `blockElements` elements run block by block, so that a
/// block is loaded into cache once for all of them (depth-first, like a recursive FFT).
struct ButterflySchedule: Equatable, Sendable {
    struct Pass: Equatable, Sendable {
        /// One factor (radix 2) or two consecutive factors (radix 4).
        var firstFactor: Int
        var isRadix4: Bool
        /// Elements touched by one butterfly of this pass (2s or 4s); a pass restricted to an
        /// aligned range of a multiple of `span` elements is independent of the rest.
        var span: Int
    }

    struct Group: Equatable, Sendable {
        var passes: Range<Int>
        /// The group runs on aligned ranges of this many elements, one after the other.
        var blockElements: Int
    }

    var passes: [Pass] = []
    var groups: [Group] = []

    /// A block of this many elements of a chunk (W vectors, split complex) stays in L2: with
    /// 64 bytes per element (8 Float or 4 Double lanes, re and im) that is 256 KB.
    static let cacheBlockElements = 4096

    init(strides: [Int], n: Int, fuse: Bool = true) {
        var f = 0
        while f < strides.count {
            let s = strides[f]
            if fuse, f + 1 < strides.count, strides[f + 1] == 2 * s || 2 * strides[f + 1] == s {
                passes.append(Pass(firstFactor: f, isRadix4: true, span: 2 * max(s, strides[f + 1])))
                f += 2
            } else {
                passes.append(Pass(firstFactor: f, isRadix4: false, span: 2 * s))
                f += 1
            }
        }
        let block = min(n, Self.cacheBlockElements)
        var start = 0
        while start < passes.count {
            var end = start
            while end < passes.count, passes[end].span <= block { end += 1 }
            if end > start {
                groups.append(Group(passes: start..<end, blockElements: block))
                start = end
            } else {
                groups.append(Group(passes: start..<(start + 1), blockElements: n))
                start += 1
            }
        }
    }
}
