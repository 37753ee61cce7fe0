import PixelflyCore
import PixelflyModels

/// The linear layers and LayerNorms inside a model, found by walking its blocks — what the
/// exporter needs to give each parameter its PyTorch form.
struct ModelStructure {
    private(set) var linears: [any LinearLayer<Float>] = []
    private(set) var norms: [LayerNorm<Float>] = []

    init(_ model: any TrainableModel<Float>) throws {
        switch model {
        case let m as VisionTransformer<Float>:
            visit([m.patchEmbedding, m.blocks, m.finalNorm, m.head])
        case let m as MLPMixer<Float>:
            visit([m.patchEmbedding, m.blocks, m.finalNorm, m.head])
        case let m as GPT<Float>:
            visit([m.blocks, m.finalNorm] + (m.head.map { [$0] } ?? []))
        default:
            throw ModelFileError.notExportable(layer: "\(type(of: model))", reason: "unknown model type (known: VisionTransformer, MLPMixer, GPT)")
        }
    }

    private mutating func visit(_ layers: [any Layer<Float>]) {
        for layer in layers { visit(layer) }
    }

    private mutating func visit(_ layer: any Layer<Float>) {
        switch layer {
        case let l as any LinearLayer<Float>: linears.append(l)
        case let l as LayerNorm<Float>: norms.append(l)
        case let l as LayerSequence<Float>: visit(l.layers)
        case let l as PreNormResidual<Float>: visit([l.norm, l.body])
        case let l as MultiHeadSelfAttention<Float>: visit([l.query, l.key, l.value, l.output])
        case let l as MLPBlock<Float>: visit([l.fc1, l.fc2])
        case let l as TokenMixing<Float>: visit(l.mlp)
        case let l as DenseTokenMixing<Float>: visit([l.fc1, l.fc2])
        default: break  // parameter-free (GELU, …) or exported as is
        }
    }
}
