/// Every configuration `reproduce` trains, fixed here once — chosen before any of the three
/// seeds' test results were seen (notebooks-md/reproduce.md) and not tuned afterwards; the
/// sweep's rank-0 points were added after the first full run, and each family's second dense
/// arm (`ReproduceArm.denseBlocks`, the speed baseline where it is faster) in the forty-first
/// kernel pass, leaving every other arm as it was. `--quick` keeps the models, arms, seeds and sweep points and only shortens training
/// (and evaluates on fewer held-out examples).
struct ReproducePlan: Codable {
    var quick: Bool
    var seeds: [UInt64]
    var families: [ReproduceFamily]
    /// The density sweep: Mixer arms trained once (the first seed), plotted with the Mixer
    /// family's dense and Pixelfly arms of the same seed.
    var sweep: [SweepArm]

    static func make(quick: Bool, seeds: Int) -> ReproducePlan {
        ReproducePlan(quick: quick, seeds: (0..<UInt64(seeds)).map { $0 },
                      families: [gpt(quick: quick), vit(quick: quick), mixer(quick: quick)], sweep: sweepArms)
    }

    /// Pixelfly in every linear of a block at B = 16, K, b, rank r (sum of sparse and low-rank).
    static func pixelfly(factors: Int = 2, blockSize: Int, rank: Int) -> [String] {
        ["--linear", "pixelfly", "--butterfly-size", "16", "--factors", "\(factors)", "--block-size", "\(blockSize)",
         "--rank", "\(rank)", "--combination", "sum"]
    }

    /// (1) Byte-level GPT on Debian's `fortunes`: every 5th file (sorted) held out whole, so
    /// held-out text comes from files never trained on. Width 512 (MLP 2048), 2 blocks, 4 heads,
    /// context 64, batch 16 (1024 bytes a step); the same Pixelfly setting as the default job's
    /// `--full` GPT (B 16, K 2, b 32, rank 32) in q, k, v, output, fc1 and fc2; the third arm adds
    /// the flat-butterfly score pattern (16-byte blocks, K = 2: each query block sees 3 of the 4
    /// key blocks' grid cells, before the causal mask). Evaluation: 32 batches of validation
    /// windows (32 768 predicted bytes), the same windows for every arm of a seed.
    static func gpt(quick: Bool) -> ReproduceFamily {
        let steps = quick ? 120 : 500
        return ReproduceFamily(
            key: "gpt", title: "Byte-level GPT on fortunes (held-out files)",
            shape: ModelShape(model: "gpt", width: 512, depth: 2, hidden: 2048, heads: 4, context: 64, batchSize: 16),
            schedule: ["--steps", "\(steps)", "--eval-interval", "\(steps / (quick ? 2 : 5))", "--log-interval", "\(steps / 4)",
                       "--eval-batches", quick ? "16" : "32", "--corpus-held-out-every", "5",
                       "--corpus", "/usr/share/games/fortunes"],
            arms: [ReproduceArm(name: "dense", arguments: ["--linear", "dense"]), .denseBlocks(blockSize: 32),
                   ReproduceArm(name: ReproduceArm.pixelflyName, arguments: pixelfly(blockSize: 32, rank: 32)),
                   ReproduceArm(name: "Pixelfly + butterfly attention",
                                arguments: pixelfly(blockSize: 32, rank: 32) + ["--attention-block-size", "16", "--attention-factors", "2"])],
            metric: .heldOutBitsPerByte, speedupTarget: 2.5)
    }

    /// (2) ViT on Fashion-MNIST: 7×7 patches (16 tokens + class token), width 512 (MLP 2048),
    /// 2 blocks, 4 heads, batch 64; Pixelfly (B 16, K 2, b 32, rank 32) in q, k, v, output, fc1,
    /// fc2.
    static func vit(quick: Bool) -> ReproduceFamily {
        ReproduceFamily(
            key: "vit", title: "ViT on Fashion-MNIST",
            shape: ModelShape(model: "vit", width: 512, depth: 2, hidden: 2048, heads: 4, patchSize: 7, batchSize: 64),
            schedule: imageSchedule(quick: quick),
            arms: [ReproduceArm(name: "dense", arguments: ["--linear", "dense"]), .denseBlocks(blockSize: 32),
                   ReproduceArm(name: ReproduceArm.pixelflyName, arguments: pixelfly(blockSize: 32, rank: 32))],
            metric: .testAccuracyPercent, speedupTarget: 2.5)
    }

    /// (3) The default job's MLP-Mixer: 7×7 patches (16 tokens), width 768, channel MLP 3072,
    /// token MLP 32 (dense in both arms), 2 blocks, batch 64; Pixelfly B 16, K 2, b 48, rank 32
    /// in the channel-mixing MLPs. Same schedule as the ViT.
    static func mixer(quick: Bool) -> ReproduceFamily {
        ReproduceFamily(
            key: "mixer", title: "MLP-Mixer on Fashion-MNIST (the default job's model)",
            shape: ModelShape(model: "mixer", width: 768, depth: 2, hidden: 3072, heads: 0, patchSize: 7, tokenHidden: 32, batchSize: 64),
            schedule: imageSchedule(quick: quick),
            arms: [ReproduceArm(name: "dense", arguments: ["--linear", "dense"]),
                   .denseBlocks(blockSize: 48, extra: ["--token-linear", "dense"]),
                   ReproduceArm(name: ReproduceArm.pixelflyName, arguments: mixerPixelfly(factors: 2, blockSize: 48, rank: 32))],
            metric: .testAccuracyPercent)
    }

    static func mixerPixelfly(factors: Int, blockSize: Int, rank: Int) -> [String] {
        pixelfly(factors: factors, blockSize: blockSize, rank: rank) + ["--token-linear", "dense"]
    }

    /// Full: 1 epoch over the first 12 800 training images (200 steps of 64; the default job
    /// runs 2), evaluated once at the end on all 10 000 test images. Quick: 1 epoch over 3 200
    /// images (50 steps), 2 000 test images.
    static func imageSchedule(quick: Bool) -> [String] {
        quick ? ["--epochs", "1", "--train-limit", "3200", "--test-limit", "2000", "--log-interval", "25"]
              : ["--epochs", "1", "--train-limit", "12800", "--log-interval", "50"]
    }

    /// Block-sparse only (rank 0, `LinearKind.blockSparse`) in the channel MLPs at B = 16, K, b.
    static func mixerBlockSparse(factors: Int, blockSize: Int) -> [String] {
        ["--linear", "blocksparse", "--butterfly-size", "16", "--factors", "\(factors)", "--block-size", "\(blockSize)",
         "--token-linear", "dense"]
    }

    /// (5) The density sweep on the Mixer (seed 0), one run per point:
    /// - Pixelfly (sparse + rank r): K ∈ {1, 2, 3} at rank 32, b 48; rank ∈ {16, 32, 64} at K 2;
    ///   b ∈ {32, 48, 64} at K 2, rank 32 (768 = 16 tiles of 48 columns, so 32 and 64 are
    ///   quantised to a coarser effective mask);
    /// - block-sparse only (rank 0): K ∈ {1, 2, 3} at b 48 — the Pixelfly points above without
    ///   their low-rank term — and b ∈ {32, 64} at K 2;
    /// - two `pixelflyBudget` points (the allocator picks B, K, b and the rank per layer for 15 %
    ///   and 30 % of dense).
    /// K 2, rank 32, b 48 is the Mixer family's Pixelfly arm and is not trained twice.
    static let sweepArms: [SweepArm] = [
        SweepArm(ReproduceArm(name: "K1 r32 b48", arguments: mixerPixelfly(factors: 1, blockSize: 48, rank: 32)), .pixelfly),
        SweepArm(ReproduceArm(name: "K3 r32 b48", arguments: mixerPixelfly(factors: 3, blockSize: 48, rank: 32)), .pixelfly),
        SweepArm(ReproduceArm(name: "K2 r16 b48", arguments: mixerPixelfly(factors: 2, blockSize: 48, rank: 16)), .pixelfly),
        SweepArm(ReproduceArm(name: "K2 r64 b48", arguments: mixerPixelfly(factors: 2, blockSize: 48, rank: 64)), .pixelfly),
        SweepArm(ReproduceArm(name: "K2 r32 b32", arguments: mixerPixelfly(factors: 2, blockSize: 32, rank: 32)), .pixelfly),
        SweepArm(ReproduceArm(name: "K2 r32 b64", arguments: mixerPixelfly(factors: 2, blockSize: 64, rank: 32)), .pixelfly),
        SweepArm(ReproduceArm(name: "K1 r0 b48", arguments: mixerBlockSparse(factors: 1, blockSize: 48)), .blockSparse),
        SweepArm(ReproduceArm(name: "K2 r0 b48", arguments: mixerBlockSparse(factors: 2, blockSize: 48)), .blockSparse),
        SweepArm(ReproduceArm(name: "K3 r0 b48", arguments: mixerBlockSparse(factors: 3, blockSize: 48)), .blockSparse),
        SweepArm(ReproduceArm(name: "K2 r0 b32", arguments: mixerBlockSparse(factors: 2, blockSize: 32)), .blockSparse),
        SweepArm(ReproduceArm(name: "K2 r0 b64", arguments: mixerBlockSparse(factors: 2, blockSize: 64)), .blockSparse),
        SweepArm(ReproduceArm(name: "budget 0.15", arguments: ["--linear", "pixelfly", "--budget", "0.15", "--token-linear", "dense"]), .budget),
        SweepArm(ReproduceArm(name: "budget 0.30", arguments: ["--linear", "pixelfly", "--budget", "0.3", "--token-linear", "dense"]), .budget),
    ]
}

/// One point of the density sweep and which kind of layer it is (how the Pareto plot colours it).
struct SweepArm: Codable {
    enum Group: String, Codable, CaseIterable {
        case dense, pixelfly, blockSparse, budget

        /// Short enough for the plot's legend column (about 18 characters).
        var legend: String {
            switch self {
            case .dense: return "dense"
            case .pixelfly: return "Pixelfly (r > 0)"
            case .blockSparse: return "block-sparse (r 0)"
            case .budget: return "pixelflyBudget"
            }
        }
    }

    var arm: ReproduceArm
    var group: Group

    init(_ arm: ReproduceArm, _ group: Group) {
        self.arm = arm
        self.group = group
    }
}
