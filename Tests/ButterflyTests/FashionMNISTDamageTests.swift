import Models
import PixelflyCore
import Testing

/// Damaged IDX files: each variant must throw an error naming the file and the problem.
@Suite("Fashion-MNIST damaged files")
struct FashionMNISTDamageTests {
    /// A damaged variant: image and label file contents (as written to disk), the file the
    /// error must name, and a phrase the message must contain.
    struct Variant: CustomStringConvertible {
        let name: String
        let images: [UInt8]?
        let labels: [UInt8]
        let blamesLabels: Bool
        let phrase: String
        var description: String { name }
    }

    static var variants: [Variant] {
        let good = SmallIDXPair(count: 12)
        let images = gzipCompressed(good.images)
        let labels = gzipCompressed(good.labels)
        func flipped(_ bytes: [UInt8], at index: Int) -> [UInt8] {
            var copy = bytes
            copy[index] ^= 0xff
            return copy
        }
        func image(_ name: String, _ bytes: [UInt8]?, _ phrase: String) -> Variant {
            Variant(name: name, images: bytes, labels: labels, blamesLabels: false, phrase: phrase)
        }
        func label(_ name: String, _ bytes: [UInt8], _ phrase: String) -> Variant {
            Variant(name: name, images: images, labels: bytes, blamesLabels: true, phrase: phrase)
        }
        var truncatedPayload = good.images
        truncatedPayload.removeLast(100)
        let outOfRange = idxBytes(magic: 2049, dimensions: [12], values: (0..<12).map { $0 == 5 ? 10 : 0 })
        return [
            image("missing file", nil, "cannot open"),
            image("empty file", [], "empty file"),
            image("not gzip (raw IDX)", good.images, "not a gzip file"),
            image("truncated gzip", Array(images.prefix(images.count / 2)), "truncated gzip"),
            image("gzip shorter than a header", Array(images.prefix(12)), "truncated gzip"),
            image("corrupt deflate bytes", flipped(images, at: 12), "corrupt gzip data"),
            image("CRC mismatch", flipped(images, at: images.count - 6), "incorrect data check"),
            image("length field mismatch", flipped(images, at: images.count - 2), "incorrect length check"),
            image("trailing garbage after gzip", images + [1, 2, 3], "unexpected bytes after the end"),
            image("bad image magic", gzipCompressed(SmallIDXPair(count: 12, imageMagic: 2050).images), "bad magic number 2050"),
            image("labels file given as images", labels, "bad magic number 2049"),
            image("wrong dimensions 27×28", gzipCompressed(SmallIDXPair(count: 12, rows: 27).images), "Fashion-MNIST images are 28×28"),
            image("no images", gzipCompressed(SmallIDXPair(count: 0).images), "contains no images"),
            image("IDX header cut short", gzipCompressed(Array(good.images.prefix(9))), "truncated IDX header"),
            image("IDX data truncated", gzipCompressed(truncatedPayload), "truncated: header declares"),
            image("IDX trailing bytes", gzipCompressed(good.images + [0, 0]), "2 unexpected trailing bytes"),
            label("bad label magic", gzipCompressed(SmallIDXPair(count: 12, labelMagic: 2051).labels), "bad magic number 2051"),
            label("count mismatch", gzipCompressed(SmallIDXPair(count: 12, labelCount: 11).labels), "has 11 labels but"),
            label("label out of range", gzipCompressed(outOfRange), "label 10 at index 5 is outside 0..<10"),
            label("empty labels file", [], "empty file"),
        ]
    }

    @Test(arguments: variants)
    func damagedVariantThrowsNamingFileAndProblem(_ variant: Variant) throws {
        let folder = try TemporaryDirectory("idx-damage")
        defer { folder.remove() }
        let imagesPath = folder.file("images.gz")
        if let images = variant.images { _ = try folder.write("images.gz", images) }
        let labelsPath = try folder.write("labels.gz", variant.labels)
        let message = thrownMessage { _ = try FashionMNIST.load(imagesPath: imagesPath, labelsPath: labelsPath) }
        #expect(message?.contains(variant.phrase) == true, "\(variant): got \(message ?? "no error")")
        #expect(message?.hasPrefix(variant.blamesLabels ? labelsPath : imagesPath) == true, "\(variant): \(message ?? "")")
    }

    @Test func undamagedSmallPairLoads() throws {
        let folder = try TemporaryDirectory("idx-good")
        defer { folder.remove() }
        let pair = SmallIDXPair(count: 12)
        let data = try FashionMNIST.load(imagesPath: folder.write("i.gz", gzipCompressed(pair.images)),
                                         labelsPath: folder.write("l.gz", gzipCompressed(pair.labels)))
        #expect(data.count == 12 && data.labels == (0..<12).map { $0 % 10 })
        #expect(data.images[0, 1] == Float(pair.images[17]) / 255)
    }

    /// Seeded random byte flips in the IDX bytes inside a valid gzip stream, so that they reach the
    /// IDX checks (header, dimensions, lengths, labels) rather than the gzip CRC.
    @Test func randomFlipsInsideTheIDXNeverCrash() throws {
        let folder = try TemporaryDirectory("idx-raw-flips")
        defer { folder.remove() }
        let pair = SmallIDXPair(count: 4)
        var rng = SeededRandom(seed: 99)
        var outcomes = (loaded: 0, failed: 0)
        for iteration in 0..<300 {
            var damaged = [pair.images, pair.labels]
            let target = iteration % 2
            // Mostly in the header, where a flip changes the structure.
            let span = rng.index(below: 2) == 0 ? min(16, damaged[target].count) : damaged[target].count
            damaged[target][rng.index(below: span)] ^= UInt8(1 + rng.index(below: 255))
            let imagesPath = try folder.write("i.gz", gzipCompressed(damaged[0]))
            let labelsPath = try folder.write("l.gz", gzipCompressed(damaged[1]))
            do {
                let data = try FashionMNIST.load(imagesPath: imagesPath, labelsPath: labelsPath)
                #expect(data.count == 4 && data.labels.allSatisfy { (0..<10).contains($0) })
                outcomes.loaded += 1
            } catch let error as FileError {
                #expect(error.path == imagesPath || error.path == labelsPath)
                outcomes.failed += 1
            }
        }
        #expect(outcomes.loaded > 0 && outcomes.failed > 100, "\(outcomes)")
    }

    /// Seeded random byte flips in small gzip IDX files: each load throws or yields a data set
    /// that passes validation — and the process never crashes.
    @Test func randomByteFlipsNeverCrash() throws {
        let folder = try TemporaryDirectory("idx-flips")
        defer { folder.remove() }
        let pair = SmallIDXPair(count: 6)
        let files = [gzipCompressed(pair.images), gzipCompressed(pair.labels)]
        var rng = SeededRandom(seed: 2024)
        var outcomes = (loaded: 0, failed: 0)
        for iteration in 0..<300 {
            var damaged = files
            let target = iteration % 2
            for _ in 0...(rng.index(below: 3)) {
                damaged[target][rng.index(below: damaged[target].count)] ^= UInt8(1 + rng.index(below: 255))
            }
            let imagesPath = try folder.write("i.gz", damaged[0])
            let labelsPath = try folder.write("l.gz", damaged[1])
            do {
                let data = try FashionMNIST.load(imagesPath: imagesPath, labelsPath: labelsPath)
                #expect(data.count == data.labels.count && data.images.cols == 784)
                #expect(data.labels.allSatisfy { (0..<10).contains($0) })
                outcomes.loaded += 1
            } catch let error as FileError {
                #expect(error.path == imagesPath || error.path == labelsPath)
                outcomes.failed += 1
            }
        }
        // Flips in the compressed stream are caught by the CRC almost always.
        #expect(outcomes.failed > 250, "\(outcomes)")
    }
}
