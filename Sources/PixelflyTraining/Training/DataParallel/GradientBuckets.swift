/// How gradients are grouped for reduction: contiguous runs of parameters, formed from the
/// model's last parameter backwards (the backward pass finishes gradients in that order), each
/// at least `targetElements` long unless the parameters run out.
///
/// Bucket 0 holds the last parameters and is ready first. A bucket covers
/// `parameterRange` of the model's parameter list and is reduced as one flat buffer of
/// `elementCount` values; a parameter larger than the target forms a bucket of its own.
public struct GradientBucketPlan: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable {
        public let parameterRange: Range<Int>
        public let elementCount: Int
    }

    public let buckets: [Bucket]

    /// `counts[i]` is the element count of parameter i; `targetElements` > 0.
    public init(parameterCounts counts: [Int], targetElements: Int) throws {
        guard targetElements > 0 else {
            throw DataParallelError("the bucket size must be positive, got \(targetElements) elements")
        }
        var buckets: [Bucket] = []
        var upper = counts.count
        var elements = 0
        for index in stride(from: counts.count - 1, through: 0, by: -1) {
            elements += counts[index]
            if elements >= targetElements || index == 0 {
                buckets.append(Bucket(parameterRange: index..<upper, elementCount: elements))
                upper = index
                elements = 0
            }
        }
        self.buckets = buckets
    }

    /// Total elements over all buckets (the gradient values reduced per step).
    public var elementCount: Int { buckets.reduce(0) { $0 + $1.elementCount } }
}
