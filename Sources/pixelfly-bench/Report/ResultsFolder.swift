import Foundation
import PixelflyCore

/// Writes a run's artefacts — JSON (with the environment block), Markdown, SVG — into one folder.
struct ResultsFolder {
    let path: String

    init(_ path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FileError(path, "cannot create results folder (\(error.localizedDescription))")
        }
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// `value` as pretty JSON with sorted keys, written atomically.
    func writeJSON<T: Encodable>(_ name: String, _ value: T) throws {
        try Self.writeJSON(to: file(name), value)
    }

    func writeText(_ name: String, _ text: String) throws {
        try writeFileAtomically(file(name), Array(text.utf8))
    }

    static func writeJSON<T: Encodable>(to path: String, _ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try writeFileAtomically(path, Array(try encoder.encode(value)) + [10])
    }
}

/// The envelope of every JSON result: what ran, where, with which configuration.
struct ResultDocument<Payload: Encodable>: Encodable {
    var command: String
    var environment: RunEnvironment
    var configuration: [String: String]
    var results: Payload
}
