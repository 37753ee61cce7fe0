import ArgumentParser
import Butterfly
import PixelflyCore

/// `pixelfly-bench mask`: prints a flat block butterfly layout and its costs.
struct MaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mask",
        abstract: "Prints a flat block butterfly (Pixelfly) block layout with its densities, parameter and FLOP counts.")

    @Option(name: .customLong("out"), help: "Output features (weight rows).")
    var outputFeatures: Int = 768

    @Option(name: .customLong("in"), help: "Input features (weight columns).")
    var inputFeatures: Int = 3072

    @Option(name: [.customShort("B"), .customLong("butterfly-size")], help: "Butterfly size B (power of two).")
    var butterflySize: Int = 16

    @Option(name: [.customShort("K"), .customLong("factors")], help: "Number of butterfly factors K (1 ≤ K ≤ log2 B).")
    var factors: Int = 2

    @Option(name: [.customShort("b"), .customLong("block-size")], help: "Block size b.")
    var blockSize: Int = 32

    @Option(name: .customLong("global"), help: "Global size g: dense first g rows and columns.")
    var globalSize: Int = 0

    @Option(help: "Seed for a column shuffle of the grid (omit for no shuffle).")
    var shuffleSeed: UInt64?

    @Option(help: "Also write the layout as an SVG picture to this file.")
    var svg: String?

    @Option(help: "Instead of -B/-K/-b: let the budget allocator choose them (and a rank) for this fraction of dense compute, e.g. 0.25.")
    var budget: Double?

    @Flag(help: "Omit the block picture (print only the counts).")
    var countsOnly = false

    func run() throws {
        var config = FlatButterflyConfiguration(butterflySize: butterflySize, factors: factors, blockSize: blockSize,
                                                globalSize: globalSize, shuffleSeed: shuffleSeed)
        if let budget {
            let allocation: PixelflyBudget
            do {
                allocation = try PixelflyBudget.allocate(outputFeatures: outputFeatures, inputFeatures: inputFeatures, targetFraction: budget)
            } catch let error as PixelflyBudgetError {
                throw ValidationError("\(error)")
            }
            config = allocation.configuration
            print("budget \(budget) of dense: B = \(config.butterflySize), K = \(config.factors), b = \(config.blockSize), rank \(allocation.rank); "
                + "sparse \(format(allocation.sparseFraction, 4)) + low-rank \(format(allocation.lowRankFraction, 4)) = "
                + "\(format(allocation.flopFraction, 4)) of dense FLOPs and parameters")
        }
        let mask: FlatButterflyMask
        do {
            mask = try FlatButterflyMask(outputFeatures: outputFeatures, inputFeatures: inputFeatures, configuration: config)
        } catch let error as FlatButterflyMaskError {
            throw ValidationError("\(error)")
        }
        if !countsOnly { print(MaskPicture.text(mask)) }
        print(MaskCommand.summary(mask))
        if let svg {
            try writeFileAtomically(svg, Array(MaskPicture.svg(mask).utf8))
            print("SVG written to \(svg)")
        }
    }

    static func summary(_ mask: FlatButterflyMask) -> String {
        let c = mask.configuration
        let dense = mask.outputFeatures * mask.inputFeatures
        return """
        W (out \(mask.outputFeatures), in \(mask.inputFeatures)); B = \(c.butterflySize), K = \(c.factors), b = \(c.blockSize), \
        global = \(c.globalSize), shuffle = \(c.shuffleSeed.map(String.init) ?? "none")
        tiles \(mask.tileRows)×\(mask.tileColumns), blocks \(mask.blockRows)×\(mask.blockColumns), kept \(mask.nonzeroBlocks) of \(mask.blocks.count)
        block density \(format(mask.blockDensity, 4)) (unquantised (K+1)/B = \(format(Double(c.factors + 1) / Double(c.butterflySize), 4)))
        element density before quantisation \(format(mask.elementDensity, 4))
        parameters \(mask.parameterCount) of \(dense) dense (\(format(Double(mask.parameterCount) / Double(dense), 4)))
        forward FLOPs per row \(mask.forwardFLOPsPerRow) of \(2 * dense) dense
        kept blocks per block row: \(Set(mask.blocksPerBlockRow).sorted().map(String.init).joined(separator: ", "))
        """
    }
}
