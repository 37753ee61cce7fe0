import ArgumentParser
import PixelflyData
import PixelflyCore

/// Checks the training data and inspects checkpoints: what the train command will read.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Loads and validates Fashion-MNIST and the text corpus (with load times), or lists a checkpoint's tensors.")

    @Option(help: "Folder with the Fashion-MNIST gzip IDX files.")
    var fashionMnist: String = FashionMNIST.defaultDirectory

    @Option(help: "Text file or folder for the byte-level corpus.")
    var corpus: String = TextCorpus.defaultPath

    @Option(help: "A safetensors checkpoint to validate and list instead of the data sets.")
    var checkpoint: String?

    func run() throws {
        if let checkpoint {
            try describeCheckpoint(checkpoint)
            return
        }
        for split in FashionMNIST.Split.allCases {
            let start = monotonicSeconds()
            let data = try FashionMNIST.load(directory: fashionMnist, split: split)
            let seconds = monotonicSeconds() - start
            print("Fashion-MNIST \(split.rawValue): \(data.count) images \(data.height)×\(data.width), "
                  + "classes \(data.classHistogram), loaded and validated in \(format(seconds, 2)) s")
        }
        let start = monotonicSeconds()
        let text = try TextCorpus.load(path: corpus)
        print("Text corpus \(corpus): \(text.files.count) files, \(text.training.count) training and "
              + "\(text.validation.count) validation bytes, loaded in \(format((monotonicSeconds() - start) * 1e3, 1)) ms")
    }

    private func describeCheckpoint(_ path: String) throws {
        let checkpoint = try Checkpoint.read(from: path)
        print("\(path): \(checkpoint.tensors.count) tensors, valid")
        for (key, value) in checkpoint.metadata.sorted(by: { $0.key < $1.key }) {
            print("  metadata \(key) = \(value.count > 120 ? String(value.prefix(117)) + "…" : value)")
        }
        for tensor in checkpoint.tensors {
            print("  \(tensor.name)  \(tensor.dtype.rawValue) \(tensor.shape)")
        }
    }
}
