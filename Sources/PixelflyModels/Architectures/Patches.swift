import PixelflyCore

/// Cutting square single-channel images into non-overlapping square patches, and back.
///
/// An image batch (B, S·S) becomes (B·N, p·p) with g = S/p patches per side and N = g²:
/// row b·N + gy·g + gx, column py·p + px holds pixel (gy·p + py, gx·p + px) of image b. The
/// map is a permutation of the pixels, so its backward is the inverse permutation.
public struct PatchGrid: Codable, Sendable, Equatable {
    public let imageSize: Int
    public let patchSize: Int

    public init(imageSize: Int, patchSize: Int) throws {
        guard imageSize > 0, patchSize > 0, imageSize % patchSize == 0 else {
            throw ShapeError("PatchGrid", "patch size \(patchSize) must be positive and divide the image size \(imageSize) (divisors: \((1...max(imageSize, 1)).filter { imageSize % $0 == 0 }))")
        }
        self.imageSize = imageSize
        self.patchSize = patchSize
    }

    public var patchesPerSide: Int { imageSize / patchSize }
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    public var pixelsPerPatch: Int { patchSize * patchSize }

    /// (B, S·S) images → (B·N, p·p) patches.
    public func patchify<Scalar: TensorScalar>(_ images: Matrix<Scalar>, into patches: inout Matrix<Scalar>) throws {
        guard images.cols == imageSize * imageSize else {
            throw ShapeError("PatchGrid.patchify", "images have \(images.cols) pixels; \(imageSize)×\(imageSize) needs \(imageSize * imageSize)")
        }
        patches.ensureShape(rows: images.rows * patchCount, cols: pixelsPerPatch)
        images.withUnsafeBufferPointer { source in
            patches.withUnsafeMutableBufferPointer { target in
                movePatches(batch: images.rows, images: UnsafeMutablePointer(mutating: source.baseAddress!),
                            patches: target.baseAddress!, toPatches: true)
            }
        }
    }

    /// (B·N, p·p) patch gradients → (B, S·S) image gradients (the inverse permutation).
    public func unpatchify<Scalar: TensorScalar>(_ patches: Matrix<Scalar>, into images: inout Matrix<Scalar>) throws {
        guard patches.cols == pixelsPerPatch, patches.rows % patchCount == 0 else {
            throw ShapeError("PatchGrid.unpatchify", "patches are \(patches.rows)×\(patches.cols); expected (B·\(patchCount))×\(pixelsPerPatch)")
        }
        let batch = patches.rows / patchCount
        images.ensureShape(rows: batch, cols: imageSize * imageSize)
        patches.withUnsafeBufferPointer { source in
            images.withUnsafeMutableBufferPointer { target in
                movePatches(batch: batch, images: target.baseAddress!,
                            patches: UnsafeMutablePointer(mutating: source.baseAddress!), toPatches: false)
            }
        }
    }

    /// Copies patch rows of length p between the two layouts (only the destination is written).
    private func movePatches<Scalar>(batch: Int, images: UnsafeMutablePointer<Scalar>,
                                     patches: UnsafeMutablePointer<Scalar>, toPatches: Bool) {
        let (s, p, g) = (imageSize, patchSize, patchesPerSide)
        for b in 0..<batch {
            for gy in 0..<g {
                for gx in 0..<g {
                    let patch = patches + ((b * patchCount) + gy * g + gx) * p * p
                    for py in 0..<p {
                        let pixel = images + b * s * s + (gy * p + py) * s + gx * p
                        if toPatches { (patch + py * p).update(from: pixel, count: p) }
                        else { pixel.update(from: patch + py * p, count: p) }
                    }
                }
            }
        }
    }
}
