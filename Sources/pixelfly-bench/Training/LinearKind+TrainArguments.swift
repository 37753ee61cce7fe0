import Butterfly
import PixelflyModels

extension LinearKind {
    /// The `train` flags that select this kind of block linear, for the kinds the default job's
    /// children train (dense, dense-blocks, Pixelfly with a fixed mask); nil for the others.
    var trainArguments: [String]? {
        switch self {
        case .dense: return ["--linear", "dense"]
        case .denseBlocks(let b): return ["--linear", "dense-blocks", "--block-size", "\(b)"]
        case .pixelfly(let p):
            return ["--linear", "pixelfly", "--butterfly-size", "\(p.mask.butterflySize)", "--factors", "\(p.mask.factors)",
                    "--block-size", "\(p.mask.blockSize)", "--rank", "\(p.rank)", "--combination", p.combination.rawValue]
        default: return nil
        }
    }
}
