import Foundation
import PixelflyCore
import Testing
import PixelflyData

@Suite("Byte-level text corpus")
struct TextCorpusTests {
    /// The 43 files of Debian's `fortunes` + `fortunes-min` (`make setup` installs both), listed
    /// and sized with Python's os.listdir / os.path.realpath / os.path.getsize: 2 319 004 training
    /// and 257 670 validation bytes with the last 10 % (rounded half up) of each file held out.
    static let fortuneFiles = """
        art ascii-art computers cookie debian definitions disclaimer drugs education ethnic food fortunes goedel \
        humorists kids knghtbrd law linux linuxcookie literature love magic medicine men-women miscellaneous news \
        paradoxum people perl pets platitudes politics pratchett riddles science songs-poems sports startrek tao \
        translate-me wisdom work zippy
        """.split(separator: " ").map(String.init)

    @Test func defaultCorpusReadsEachFortuneFileOnce() throws {
        let corpus = try TextCorpus.load()
        let directory = TextCorpus.defaultPath
        #expect(corpus.files == Self.fortuneFiles.map { "\(directory)/\($0)" },
                "expected the 43 text files without .dat indices or .u8 links, got \(corpus.files)")
        var training: [UInt8] = []
        var validation: [UInt8] = []
        for file in corpus.files {
            let bytes = try readFileBytes(file)
            let split = bytes.count - Int((Double(bytes.count) * 0.1).rounded())
            training += bytes[..<split]
            validation += bytes[split...]
        }
        #expect(corpus.training == training && corpus.validation == validation)
        #expect(corpus.training.count == 2_319_004 && corpus.validation.count == 257_670)
        #expect(corpus.heldOutFiles.isEmpty)
    }

    @Test func folderIsWalkedRecursivelyInSortedOrder() throws {
        let folder = try TemporaryDirectory("corpus-tree")
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.file("b/inner"), withIntermediateDirectories: true)
        _ = try folder.write("c.txt", Array("cccc".utf8))
        _ = try folder.write("a.txt", Array("aaaa".utf8))
        _ = try folder.write("b/inner/z.txt", Array("zzzz".utf8))
        _ = try folder.write("a.dat", [0xff, 0x00, 0x13])
        try FileManager.default.createSymbolicLink(atPath: folder.file("d.u8"), withDestinationPath: folder.file("a.txt"))
        let corpus = try TextCorpus.load(path: folder.path, validationFraction: 0.25)
        #expect(corpus.files == ["a.txt", "b/inner/z.txt", "c.txt"].map(folder.file))
        #expect(corpus.training == Array("aaazzzccc".utf8) && corpus.validation == Array("azc".utf8))
        let single = try TextCorpus.load(path: folder.file("c.txt"), validationFraction: 0)
        #expect(single.training == Array("cccc".utf8) && single.validation.isEmpty)
    }

    @Test func badCorporaThrowNamingThePath() throws {
        let folder = try TemporaryDirectory("corpus-bad")
        defer { folder.remove() }
        let missing = folder.file("nothing-here")
        #expect(thrownMessage { _ = try TextCorpus.load(path: missing) } == "\(missing): no such file or folder")
        try FileManager.default.createDirectory(atPath: folder.file("empty"), withIntermediateDirectories: true)
        #expect(thrownMessage { _ = try TextCorpus.load(path: folder.file("empty")) }?.contains("holds no text files") == true)
        let emptyFile = try folder.write("empty.txt", [])
        #expect(thrownMessage { _ = try TextCorpus.load(path: emptyFile) } == "\(emptyFile): the corpus is empty (no text bytes in 1 files)")
        let binary = try folder.write("binary.txt", [0x61, 0xc3, 0x28])
        #expect(thrownMessage { _ = try TextCorpus.load(path: binary) } == "\(binary): not valid UTF-8 text")
        #expect(thrownMessage { _ = try TextCorpus.load(validationFraction: 1) }?.contains("[0, 1)") == true)
    }
}

@Suite("Token window sampler", .serialized)
struct TokenWindowSamplerTests {
    /// Tokens `i mod 251`: a window is consecutive exactly when each token follows its predecessor mod 251.
    static let tokens: [UInt8] = (0..<5_000).map { UInt8($0 % 251) }

    @Test func windowsAreConsecutiveAndSeeded() throws {
        var sampler = try TokenWindowSampler(tokenCount: Self.tokens.count, context: 16, batchSize: 8, seed: 5)
        var same = try TokenWindowSampler(tokenCount: Self.tokens.count, context: 16, batchSize: 8, seed: 5)
        var other = try TokenWindowSampler(tokenCount: Self.tokens.count, context: 16, batchSize: 8, seed: 6)
        var windows: [Int] = []
        var copy: [Int] = []
        var different: [Int] = []
        try sampler.nextBatch(from: Self.tokens, into: &windows)
        try same.nextBatch(from: Self.tokens, into: &copy)
        try other.nextBatch(from: Self.tokens, into: &different)
        #expect(windows.count == 8 * 17)
        #expect(windows == copy && windows != different)
        for row in 0..<8 {
            for t in 1..<17 { #expect(windows[row * 17 + t] == (windows[row * 17 + t - 1] + 1) % 251) }
        }
        var resumed = try TokenWindowSampler(tokenCount: Self.tokens.count, context: 16, batchSize: 8, seed: 5)
        resumed.skip(batches: 3)
        for _ in 0..<3 { try sampler.nextBatch(from: Self.tokens, into: &windows) }
        try resumed.nextBatch(from: Self.tokens, into: &copy)
        #expect(windows == copy, "skip(batches:) did not replay the stream")
    }

    @Test func samplerReachesBothEndsOfTheCorpus() throws {
        let tokens: [UInt8] = Array(0..<20)
        var sampler = try TokenWindowSampler(tokenCount: 20, context: 4, batchSize: 64, seed: 1)
        var windows: [Int] = []
        try sampler.nextBatch(from: tokens, into: &windows)
        let starts = Set(stride(from: 0, to: windows.count, by: 5).map { windows[$0] })
        #expect(starts == Set(0...15), "window starts \(starts.sorted()) should cover 0...15")
    }

    @Test func steadyStateBatchesAreAllocationFree() throws {
        var sampler = try TokenWindowSampler(tokenCount: Self.tokens.count, context: 32, batchSize: 16, seed: 2)
        var windows: [Int] = []
        try sampler.nextBatch(from: Self.tokens, into: &windows)
        let count = try countAllocations {
            for _ in 0..<10 { try sampler.nextBatch(from: Self.tokens, into: &windows) }
        }
        #expect(count == 0, "\(count) allocations in 10 steady-state token batches")
    }

    @Test func impossibleConfigurationsThrow() {
        #expect(thrownMessage { _ = try TokenWindowSampler(tokenCount: 10, context: 10, batchSize: 1, seed: 0) }?.contains("does not fit") == true)
        #expect(thrownMessage { _ = try TokenWindowSampler(tokenCount: 10, context: 0, batchSize: 1, seed: 0) }?.contains("positive") == true)
    }
}
