import Foundation
import PixelflyData
import PixelflyTraining
import PixelflyCore
import Testing

@Suite("Text corpus split by file")
struct TextCorpusSplitTests {
    /// Five files in sorted order a, b, c, d, e (plus a `.dat` index and a link, both skipped);
    /// every 2nd file held out: b and d, whole.
    @Test func everyNthFileIsHeldOutWhole() throws {
        let folder = try TemporaryDirectory("corpus-split")
        defer { folder.remove() }
        for name in ["c", "a", "e", "b", "d"] { _ = try folder.write("\(name).txt", Array(String(repeating: name, count: 3).utf8)) }
        _ = try folder.write("a.dat", [0xff, 0x00])
        try FileManager.default.createSymbolicLink(atPath: folder.file("f.u8"), withDestinationPath: folder.file("e.txt"))
        let corpus = try TextCorpus.load(path: folder.path, heldOutEvery: 2)
        #expect(corpus.files == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"].map(folder.file))
        #expect(corpus.heldOutFiles == ["b.txt", "d.txt"].map(folder.file))
        #expect(corpus.training == Array("aaaccceee".utf8))
        #expect(corpus.validation == Array("bbbddd".utf8))
        let third = try TextCorpus.load(path: folder.path, heldOutEvery: 3)
        #expect(third.training == Array("aaabbbdddeee".utf8) && third.validation == Array("ccc".utf8))
    }

    /// Debian's `fortunes` with every 5th file held out: 8 files, 319 332 of 2 576 674 bytes
    /// (sizes from Python's os.path.getsize over the sorted, de-linked listing).
    @Test func fortunesHoldsOutEightFiles() throws {
        let corpus = try TextCorpus.load(heldOutEvery: 5)
        let names = ["debian", "ethnic", "kids", "literature", "miscellaneous", "pets", "science", "translate-me"]
        #expect(corpus.heldOutFiles == names.map { "\(TextCorpus.defaultPath)/\($0)" })
        #expect(corpus.validation.count == 319_332 && corpus.training.count == 2_257_342)
        let literature = try readFileBytes("\(TextCorpus.defaultPath)/literature")
        // Held-out files are consecutive in the validation text: debian, ethnic, kids, then literature.
        let offset = try ["debian", "ethnic", "kids"].reduce(0) { $0 + (try readFileBytes("\(TextCorpus.defaultPath)/\($1)")).count }
        #expect(Array(corpus.validation[offset..<(offset + literature.count)]) == literature)
    }

    @Test func badSplitsThrowNamedErrors() throws {
        let folder = try TemporaryDirectory("corpus-split-bad")
        defer { folder.remove() }
        _ = try folder.write("only.txt", Array("text".utf8))
        #expect(thrownMessage { _ = try TextCorpus.load(path: folder.path, heldOutEvery: 1) }?.contains("at least 2") == true)
        #expect(thrownMessage { _ = try TextCorpus.load(path: folder.path, heldOutEvery: 2) }
                == "\(folder.path): holds 1 text files; holding out one file in every 2 needs at least 2")
        _ = try folder.write("second.txt", [])
        #expect(thrownMessage { _ = try TextCorpus.load(path: folder.path, heldOutEvery: 2) }?.contains("left an empty split") == true)
    }

    @Test func trainingConfigurationRejectsABadSplit() throws {
        var c = TrainingConfiguration(model: .gpt(.tiny))
        c.corpusHeldOutEvery = 1
        #expect(thrownMessage { _ = try runTraining(c, log: { _ in }) }?.contains("n ≥ 2") == true)
    }
}
