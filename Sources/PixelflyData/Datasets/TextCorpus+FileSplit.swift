import PixelflyCore

extension TextCorpus {
    /// Reads the files at or under `path` (in the order and with the rules of `load(path:validationFraction:)`)
    /// and holds out whole files: file i of that sorted list (0-based) goes to `validation` iff
    /// i mod n = n − 1, every other file to `training`. Held-out text then comes from files the
    /// model never saw a byte of — a language model's held-out loss, not a continuation of a
    /// training file. With Debian's `fortunes` (43 files) and n = 5, 8 files (12.4 % of the
    /// bytes) are held out.
    ///
    /// Throws `ConfigurationError` unless n ≥ 2, and `FileError` if either split would be empty (a single
    /// file, or fewer than n files) or a file is not UTF-8.
    public static func load(path: String = defaultPath, heldOutEvery n: Int) throws -> TextCorpus {
        guard n >= 2 else {
            throw ConfigurationError("TextCorpus.load", "heldOutEvery must be at least 2 (every n-th file is held out), got \(n)")
        }
        let files = try textFiles(under: path)
        guard files.count >= n else {
            throw FileError(path, "holds \(files.count) text files; holding out one file in every \(n) needs at least \(n)")
        }
        var training: [UInt8] = []
        var validation: [UInt8] = []
        var heldOut: [String] = []
        for (index, file) in files.enumerated() {
            let bytes = try readFileBytes(file)
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw FileError(file, "not valid UTF-8 text")
            }
            if index % n == n - 1 {
                validation += bytes
                heldOut.append(file)
            } else {
                training += bytes
            }
        }
        guard !training.isEmpty, !validation.isEmpty else {
            throw FileError(path, "holding out one file in every \(n) left an empty split (\(training.count) training, \(validation.count) held-out bytes)")
        }
        return TextCorpus(files: files, training: training, validation: validation, heldOutFiles: heldOut)
    }
}
