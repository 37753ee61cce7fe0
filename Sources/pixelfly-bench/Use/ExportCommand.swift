import ArgumentParser
import PixelflyTraining

/// `pixelfly-bench export`: a training checkpoint's parameters in PyTorch conventions (see
/// `ModelExport`), readable with `safetensors.torch.load_file` or `scripts/reference-forward.py`.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Writes a trained checkpoint's parameters as PyTorch-style safetensors (weights (out, in), 1-D biases and norms).",
        discussion: """
        Block-sparse weights are written as (blocks, b, b) with an int64 (blocks, 2) tensor of \
        block (row, column) coordinates; low-rank factors as two weights; the model configuration \
        and each linear layer's form go into __metadata__. With --dense every linear is written as \
        its dense-equivalent (out, in) weight. Nothing is written if the checkpoint is damaged, of \
        an unknown model kind or does not match its configuration.
        """)

    @Option(help: "A checkpoint written by `pixelfly-bench train --checkpoint`.")
    var checkpoint: String

    @Option(help: "The safetensors file to write (atomically).")
    var out: String

    @Flag(help: "Write every linear layer as its dense-equivalent (out, in) weight.")
    var dense = false

    func validate() throws {
        guard out != checkpoint else {
            throw ValidationError("--out must name a new file, not the checkpoint itself (\(checkpoint))")
        }
    }

    func run() throws {
        let export = try ModelExport.export(checkpoint: checkpoint, to: out, dense: dense)
        let elements = export.tensors.reduce(0) { $0 + $1.elementCount }
        print("wrote \(out): \(export.metadata["model"] ?? "?") at step \(export.metadata["source_step"] ?? "?"), "
            + "\(export.tensors.count) tensors, \(elements) values\(dense ? " (dense-equivalent linears)" : "")")
    }
}
