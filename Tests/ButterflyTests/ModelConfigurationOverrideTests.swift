import PixelflyModels
import PixelflyTraining
import Testing

/// `ModelConfiguration.override` (what `train --width --hidden --depth --heads` call): each value
/// reaches the configuration, the rest keeps the preset's. Bad values are rows of
/// `BadInputTableTests`.
@Suite("Model configuration overrides")
struct ModelConfigurationOverrideTests {
    @Test func gptTakesWidthHiddenDepthAndHeads() throws {
        var configuration = try ModelConfiguration.preset("gpt")
        try configuration.override(width: 512, depth: 2, patchSize: nil, hidden: 2048, heads: 8)
        guard case .gpt(let c) = configuration else { Issue.record("not a GPT: \(configuration)"); return }
        #expect(c.width == 512 && c.mlpHidden == 2048 && c.depth == 2 && c.heads == 8)
        #expect(c.context == GPTConfiguration.small.context)
    }

    @Test func vitKeepsThePresetHeadsUnlessAsked() throws {
        var configuration = try ModelConfiguration.preset("vit")
        try configuration.override(width: 96, depth: nil, patchSize: nil)
        guard case .vit(let kept) = configuration else { Issue.record("not a ViT: \(configuration)"); return }
        #expect(kept.heads == VisionTransformerConfiguration.small.heads && kept.width == 96 && kept.mlpHidden == 384)
        try configuration.override(width: nil, depth: nil, patchSize: nil, heads: 6)
        guard case .vit(let changed) = configuration else { Issue.record("not a ViT: \(configuration)"); return }
        #expect(changed.heads == 6 && changed.width == 96)
    }
}
