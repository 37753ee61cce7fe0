import Butterfly
import LowRank
import PixelflyCore
import PixelflyData

/// The export tensors of one linear layer (formats in `ExportedLayer`). One switch arm per
/// linear type: a new layer type is exportable once it has an arm here.
enum LinearExport {
    /// The layer's name prefix, its tensors and its metadata entry. With `dense`, every layer
    /// is written as its dense-equivalent (out, in) weight.
    static func export(_ layer: any LinearLayer<Float>, dense: Bool) throws
        -> (prefix: String, tensors: [CheckpointTensor], entry: ExportedLayer) {
        switch layer {
        case let l as DenseLinear<Float>:
            let prefix = try trimmed(l.weight.name, ".weight")
            return (prefix, try denseTensors(prefix, l.weight.value, l.bias), entry(l, "dense", "DenseLinear", bias: l.bias))
        case let l as LowRankLinear<Float>:
            let prefix = try trimmed(l.u.name, ".u")
            if dense { return try asDense(l, prefix, "LowRankLinear", bias: l.bias) }
            var e = entry(l, "low_rank", "LowRankLinear", bias: l.bias)
            e.rank = l.rank
            return (prefix, try lowRankTensors(prefix, l) + biasTensor(prefix, l.bias), e)
        case let l as BlockSparseLinear<Float>:
            let prefix = try trimmed(l.weight.name, ".weight")
            if dense { return try asDense(l, prefix, "BlockSparseLinear", bias: l.bias) }
            var e = entry(l, "block_sparse", "BlockSparseLinear", bias: l.bias)
            (e.blockSize, e.blockCount, e.mask) = (l.layout.blockSize, l.layout.blocks.filter { $0 }.count, l.maskConfiguration)
            return (prefix, try blockTensors(prefix, l) + biasTensor(prefix, l.bias), e)
        case let l as PixelflyLinear<Float>:
            let prefix = try trimmed(l.sparse.weight.name, ".sparse.weight")
            if dense {
                guard l.combination == .sum else {
                    throw ModelFileError.notExportable(layer: prefix, reason: "a gated Pixelfly linear is not linear in its input, so it has no dense-equivalent weight; export without --dense")
                }
                return try asDense(l, prefix, "PixelflyLinear", bias: l.bias)
            }
            var e = entry(l, "pixelfly", "PixelflyLinear", bias: l.bias)
            (e.rank, e.blockSize, e.blockCount) = (l.lowRank.rank, l.sparse.layout.blockSize, l.sparse.layout.blocks.filter { $0 }.count)
            (e.mask, e.combination) = (l.sparse.maskConfiguration, l.combination.rawValue)
            var tensors = try blockTensors(prefix + ".sparse", l.sparse) + lowRankTensors(prefix + ".lowrank", l.lowRank)
                + biasTensor(prefix, l.bias)
            if let w = l.gateWeight, let c = l.gateBias {
                tensors.append(try CheckpointTensor(name: prefix + ".gate.weight", matrix: w.value))
                tensors.append(try CheckpointTensor(name: prefix + ".gate.bias", shape: [1], values: c.value.storage))
            }
            return (prefix, tensors, e)
        case let l as MonarchLinear<Float>:
            let prefix = try trimmed(l.blkdiag1.name, ".blkdiag1")
            if dense { return try asDense(l, prefix, "MonarchLinear", bias: l.bias) }
            var e = entry(l, "monarch", "MonarchLinear", bias: l.bias)
            let shape = l.shape
            (e.nblocks, e.inFeaturesExtended, e.outFeaturesExtended) = (shape.nblocks, shape.paddedInput, shape.paddedOutput)
            return (prefix, try monarchTensors(prefix, l) + biasTensor(prefix, l.bias), e)
        case let l as ButterflyLinear<Float>:
            // No PyTorch layer holds a butterfly's twiddles: always its dense-equivalent matrix.
            let prefix = try trimmed(l.butterfly.twiddles.name, ".twiddles")
            return try asDense(l, prefix, "ButterflyLinear", bias: l.bias)
        default:
            throw ModelFileError.notExportable(layer: "\(type(of: layer))", reason: "no export form for this linear type (add a case to LinearExport.export)")
        }
    }

    /// Any layer as its dense-equivalent weight `denseWeight()` plus its bias.
    private static func asDense(_ l: any LinearLayer<Float>, _ prefix: String, _ source: String,
                                bias: Parameter<Float>?) throws -> (prefix: String, tensors: [CheckpointTensor], entry: ExportedLayer) {
        (prefix, try denseTensors(prefix, l.denseWeight(), bias), entry(l, "dense", source, bias: bias))
    }

    private static func entry(_ l: any LinearLayer<Float>, _ kind: String, _ source: String, bias: Parameter<Float>?) -> ExportedLayer {
        ExportedLayer(kind: kind, source: source, inFeatures: l.inputFeatures, outFeatures: l.outputFeatures, bias: bias != nil)
    }

    private static func denseTensors(_ prefix: String, _ weight: Matrix<Float>, _ bias: Parameter<Float>?) throws -> [CheckpointTensor] {
        [try CheckpointTensor(name: prefix + ".weight", matrix: weight)] + (try biasTensor(prefix, bias))
    }

    static func biasTensor(_ prefix: String, _ bias: Parameter<Float>?) throws -> [CheckpointTensor] {
        guard let bias else { return [] }
        return [try CheckpointTensor(name: prefix + ".bias", shape: [bias.value.count], values: bias.value.storage)]
    }

    private static func lowRankTensors(_ prefix: String, _ l: LowRankLinear<Float>) throws -> [CheckpointTensor] {
        [try CheckpointTensor(name: prefix + ".v.weight", matrix: l.v.value),
         try CheckpointTensor(name: prefix + ".u.weight", matrix: l.u.value)]
    }

    /// The kept b×b blocks as (n, b, b) and their (block row, block column) as (n, 2) int64.
    private static func blockTensors(_ prefix: String, _ l: BlockSparseLinear<Float>) throws -> [CheckpointTensor] {
        let layout = l.layout
        let b = layout.blockSize
        let blockColumns = layout.cols / b
        let dense = l.denseWeight()
        var values: [Float] = []
        var coordinates: [Int64] = []
        for (index, kept) in layout.blocks.enumerated() where kept {
            let (r, c) = (index / blockColumns, index % blockColumns)
            coordinates += [Int64(r), Int64(c)]
            for i in 0..<b { for j in 0..<b { values.append(dense[r * b + i, c * b + j]) } }
        }
        let count = coordinates.count / 2
        return [try CheckpointTensor(name: prefix + ".weight", shape: [count, b, b], values: values),
                try CheckpointTensor(name: prefix + ".block_index", dtype: .i64, shape: [count, 2],
                                     bytes: coordinates.withUnsafeBytes { Array($0) })]
    }

    /// R as `P.blkdiag1` (k, q, p) and L as `P.blkdiag2` (l, s, r): the layer's row-major
    /// (nblocks, q·p) and (nblocks, s·q) storage read as 3-D, the reference's parameter layout.
    private static func monarchTensors(_ prefix: String, _ l: MonarchLinear<Float>) throws -> [CheckpointTensor] {
        let shape = l.shape
        return [try CheckpointTensor(name: prefix + ".blkdiag1", shape: [shape.nblocks, shape.q, shape.p], values: l.blkdiag1.value.storage),
                try CheckpointTensor(name: prefix + ".blkdiag2", shape: [shape.nblocks, shape.s, shape.q], values: l.blkdiag2.value.storage)]
    }

    private static func trimmed(_ name: String, _ suffix: String) throws -> String {
        guard name.hasSuffix(suffix) else {
            throw ModelFileError.notExportable(layer: name, reason: "parameter name does not end in \"\(suffix)\"")
        }
        return String(name.dropLast(suffix.count))
    }
}
