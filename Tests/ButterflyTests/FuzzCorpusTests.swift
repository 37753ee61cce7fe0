import Foundation
@_spi(Fuzzing) import PixelflyData
import PixelflyCore
import Testing

/// Replays the committed libFuzzer seed corpus (Fuzz/corpus/, written by
/// scripts/make-fuzz-corpus.py) through the readers, so that the seeds keep meaning what their
/// names say: `valid-*`, `restore-target*`, `images-*`, `labels-*` and the other well-formed seeds
/// load with the contents the script wrote, and every other seed is refused with a `FileError`.
@Suite("Fuzz seed corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

    static func seeds(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus + "/" + target
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { ($0, try readFileBytes(folder + "/" + $0)) }
    }

    @Test func checkpointSeeds() throws {
        let loads: Set = ["valid-f32-f64-metadata", "restore-target", "restore-target-wrong-shape", "empty-header",
                          "metadata-only", "scalar-and-empty", "rank-3", "escapes-and-whitespace", "unpadded"]
        let seeds = try Self.seeds("checkpoint")
        #expect(seeds.count == 15)
        for (name, bytes) in seeds {
            let result = Result { try Checkpoint.parse(bytes, path: name) }
            if loads.contains(name) {
                #expect(throws: Never.self, "\(name)") { try result.get() }
            } else {
                #expect(throws: FileError.self, "\(name)") { try result.get() }
            }
        }
        let restored = try Checkpoint.parse(try #require(seeds.first { $0.name == "restore-target" }).bytes, path: "seed")
        var rng = SeededRandom(seed: 1)
        let layer = try DenseLinear<Float>(3, 2, name: "fc", rng: &rng)
        try restored.restore(layer.parameters)
        #expect(layer.weight.value.storage == [1, 2, 3, 4, 5, 6] && layer.bias?.value.storage == [0.5, -0.5])
    }

    @Test func idxSeeds() throws {
        let seeds = try Self.seeds("idx")
        #expect(seeds.count == 10)
        for (name, bytes) in seeds {
            // As the fuzz target splits: a little-endian image-file length, then the two files.
            let declared = bytes[0..<4].reversed().reduce(0) { $0 << 8 | Int($1) }
            let split = 4 + min(declared, bytes.count - 4)
            let result = Result {
                try FuzzingEntryPoints.fashionMNIST(imageIDX: Array(bytes[4..<split]), labelIDX: Array(bytes[split...]))
            }
            switch name {
            case "valid-1": #expect(try result.get().labels == [9])
            case "valid-3": #expect(try result.get().labels == [0, 5, 9])
            default: #expect(throws: FileError.self, "\(name)") { try result.get() }
            }
        }
    }

    @Test func gzipSeeds() throws {
        let seeds = try Self.seeds("gzip")
        #expect(seeds.count == 12)
        for (name, bytes) in seeds {
            let result = Result { try FuzzingEntryPoints.gunzip(bytes) }
            switch name {
            case "images-level6", "images-stored":
                #expect(try FuzzingEntryPoints.idxDimensions(result.get(), magic: 2051) == [1, 28, 28], "\(name)")
            case "labels-level9", "labels-fixed-huffman", "all-header-fields":
                #expect(try FuzzingEntryPoints.idxDimensions(result.get(), magic: 2049) == [4], "\(name)")
            case "empty-payload": #expect(try result.get() == [])
            case "highly-compressible": #expect(try result.get() == [UInt8](repeating: 0, count: 200_000))
            default: #expect(throws: FileError.self, "\(name)") { try result.get() }
            }
        }
    }
}
