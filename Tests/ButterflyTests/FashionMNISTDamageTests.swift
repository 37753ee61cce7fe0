import PixelflyData
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

    /// Seeded single-byte flips in the IDX bytes inside a valid gzip stream (so that they reach
    /// the IDX checks rather than the gzip CRC), each outcome checked against what the IDX
    /// format says it must be: a flip in a header (magic or a size) is refused naming that file,
    /// since every size change breaks the exact length; a flipped pixel loads as its new byte / 255;
    /// a flipped label loads if the new byte is below 10 and is refused naming it otherwise.
    @Test func singleFlipsInsideTheIDXGiveTheExpectedOutcome() throws {
        let folder = try TemporaryDirectory("idx-raw-flips")
        defer { folder.remove() }
        let pair = SmallIDXPair(count: 4)
        var rng = SeededRandom(seed: 99)
        var outcomes = (headerRefused: 0, pixelLoaded: 0, labelLoaded: 0, labelRefused: 0)
        for iteration in 0..<300 {
            var damaged = [pair.images, pair.labels]
            let target = iteration % 2
            let headerLength = target == 0 ? 16 : 8
            // Half the flips in the header, where a flip changes the structure.
            let position = rng.index(below: 2) == 0 ? rng.index(below: headerLength) : rng.index(below: damaged[target].count)
            // Label bytes flip by at most 15, so that both valid (< 10) and invalid labels occur.
            damaged[target][position] ^= UInt8(1 + rng.index(below: target == 0 ? 255 : 15))
            let value = damaged[target][position]
            let imagesPath = try folder.write("i.gz", gzipCompressed(damaged[0]))
            let labelsPath = try folder.write("l.gz", gzipCompressed(damaged[1]))
            let blamed = target == 0 ? imagesPath : labelsPath
            let described = "\(target == 0 ? "image" : "label") byte \(position) → \(value)"
            do {
                let data = try FashionMNIST.load(imagesPath: imagesPath, labelsPath: labelsPath)
                #expect(position >= headerLength, "\(described): a damaged header was accepted")
                #expect(data.count == 4)
                if target == 0 {
                    let pixel = position - headerLength
                    #expect(data.images.storage[pixel] == Float(value) / 255, "\(described)")
                    #expect(data.labels == [0, 1, 2, 3])
                    outcomes.pixelLoaded += 1
                } else {
                    #expect(value < 10, "\(described): label \(value) was accepted")
                    var labels = [0, 1, 2, 3]
                    labels[position - headerLength] = Int(value)
                    #expect(data.labels == labels, "\(described)")
                    outcomes.labelLoaded += 1
                }
            } catch let error as FileError {
                #expect(error.path == blamed, "\(described): \(error)")
                if position < headerLength {
                    outcomes.headerRefused += 1
                } else {
                    #expect(target == 1 && value >= 10, "\(described) was refused: \(error)")
                    #expect(error.message == "label \(value) at index \(position - headerLength) is outside 0..<10", "\(error)")
                    outcomes.labelRefused += 1
                }
            }
        }
        // Every kind of flip occurred (the seed decides how often).
        #expect(outcomes.headerRefused > 100 && outcomes.pixelLoaded > 30 && outcomes.labelLoaded > 0 && outcomes.labelRefused > 0, "\(outcomes)")
    }

    /// Seeded single-byte flips in small gzip IDX files, each outcome checked against what it
    /// must be: flips in the gzip magic are "not a gzip file", in MTIME / XFL / OS (bytes 4–9,
    /// which nothing checks) load the undamaged data, in the CRC-32 and ISIZE trailer fail those
    /// checks; elsewhere the outcome follows a one-shot reference inflate (`gzipReference`): the
    /// load fails naming the file wherever the reference fails, and yields the original data
    /// wherever the reference gives back the original bytes.
    @Test func singleFlipsInGzipGiveTheExpectedOutcome() throws {
        let folder = try TemporaryDirectory("idx-flips")
        defer { folder.remove() }
        let pair = SmallIDXPair(count: 6)
        let originals = [pair.images, pair.labels]
        let files = originals.map(gzipCompressed)
        var rng = SeededRandom(seed: 2024)
        var outcomes = (loaded: 0, failed: 0, rule: 0)
        for iteration in 0..<300 {
            var damaged = files
            let target = iteration % 2
            let count = damaged[target].count
            let position = rng.index(below: count)
            damaged[target][position] ^= UInt8(1 + rng.index(below: 255))
            let imagesPath = try folder.write("i.gz", damaged[0])
            let labelsPath = try folder.write("l.gz", damaged[1])
            let described = "\(target == 0 ? "images" : "labels") gzip byte \(position) of \(count)"
            var result: Result<ImageDataset, FileError>
            do {
                result = .success(try FashionMNIST.load(imagesPath: imagesPath, labelsPath: labelsPath))
            } catch let error as FileError {
                result = .failure(error)
            }
            let phrase: String? = switch position {
            case 0, 1: "not a gzip file"
            case (count - 8)..<(count - 4): "incorrect data check"
            case (count - 4)...: "incorrect length check"
            default: nil
            }
            switch (result, gzipReference(damaged[target])) {
            case (.success(let data), let reference):
                #expect(reference == originals[target], "\(described) loaded, but the reference inflate gives other bytes")
                #expect(data.labels == (0..<6).map { $0 % 10 } && data.images.storage[1] == Float(pair.images[17]) / 255)
                #expect(phrase == nil, "\(described) loaded")
                outcomes.loaded += 1
            case (.failure(let error), let reference):
                #expect(error.path == (target == 0 ? imagesPath : labelsPath), "\(described): \(error)")
                #expect(reference != originals[target], "\(described) was refused though the reference inflates it: \(error)")
                #expect(!(4..<10).contains(position), "\(described) (MTIME, XFL or OS) was refused: \(error)")
                if let phrase { #expect(error.message.contains(phrase), "\(described): \(error)"); outcomes.rule += 1 }
                outcomes.failed += 1
            }
        }
        #expect(outcomes.loaded > 0 && outcomes.failed > 200 && outcomes.rule > 10, "\(outcomes)")
    }
}
