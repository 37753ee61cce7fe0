import Butterfly
import LowRank
import PixelflyCore

/// Sets a structured linear layer to approximate a trained dense one, y = x·Wᵀ + b:
///
/// - `MonarchLinear`: the Frobenius-closest Monarch matrix (`projectOntoMonarch`).
/// - `PixelflyLinear` (sum): S = mask ⊙ W (the closest matrix on the mask), then U·V = the best
///   rank-r approximation of the residual W − S (Eckart–Young). One step of the alternating
///   projection in `projectOntoSparsePlusLowRank`: S is exact for L = 0, L exact for that S.
/// - `BlockSparseLinear`: mask ⊙ W. `LowRankLinear`: the best rank-r approximation. `DenseLinear`: W.
///
/// The bias is copied. Returns ‖W − W̃‖_F / ‖W‖_F for the layer's effective weight W̃. Throws
/// `ConversionError.unsupportedTarget` for other layers (a gated Pixelfly is not linear in x).
public func assignProjection<Scalar: TensorScalar>(of weight: Matrix<Scalar>, bias: Matrix<Scalar>?,
                                                   into layer: any LinearLayer<Scalar>) throws -> Double {
    guard weight.rows == layer.outputFeatures, weight.cols == layer.inputFeatures else {
        throw ShapeError("assignProjection", "dense weight is \(weight.rows)×\(weight.cols); the layer is \(layer.inputFeatures)→\(layer.outputFeatures), so (out, in) = \(layer.outputFeatures)×\(layer.inputFeatures)")
    }
    let layerBias: Parameter<Scalar>?
    switch layer {
    case let monarch as MonarchLinear<Scalar>:
        try monarch.assignProjection(of: weight)
        layerBias = monarch.bias
    case let pixelfly as PixelflyLinear<Scalar>:
        guard pixelfly.combination == .sum else {
            throw ConversionError.unsupportedTarget("a gated Pixelfly layer (its output is not linear in x)")
        }
        try pixelfly.sparse.assignProjection(of: weight)
        let kept = pixelfly.sparse.denseWeight()
        let residual = try Matrix(rows: weight.rows, cols: weight.cols, storage: zip(weight.storage, kept.storage).map(-))
        let factors = try bestRankApproximation(residual, rank: pixelfly.lowRank.rank).factors
        try pixelfly.lowRank.u.assign(factors.left)
        try pixelfly.lowRank.v.assign(factors.right)
        layerBias = pixelfly.bias
    case let sparse as BlockSparseLinear<Scalar>:
        try sparse.assignProjection(of: weight)
        layerBias = sparse.bias
    case let lowRank as LowRankLinear<Scalar>:
        let factors = try bestRankApproximation(weight, rank: lowRank.rank).factors
        try lowRank.u.assign(factors.left)
        try lowRank.v.assign(factors.right)
        layerBias = lowRank.bias
    case let dense as DenseLinear<Scalar>:
        try dense.weight.assign(weight)
        layerBias = dense.bias
    default:
        throw ConversionError.unsupportedTarget("\(type(of: layer))")
    }
    if let layerBias {
        if let bias {
            guard bias.rows == 1, bias.cols == layer.outputFeatures else {
                throw ShapeError("assignProjection", "bias is \(bias.rows)×\(bias.cols); expected 1×\(layer.outputFeatures)")
            }
            try layerBias.assign(bias)
        } else {
            layerBias.withMutableValueElements { $0.update(repeating: 0) }
        }
    }
    return relativeDistance(weight, layer.denseWeight())
}

/// ‖a − b‖_F / ‖a‖_F in Double (0 when a = 0 = b).
func relativeDistance<Scalar: TensorScalar>(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a.storage, b.storage) {
        difference += (Double(x) - Double(y)) * (Double(x) - Double(y))
        norm += Double(x) * Double(x)
    }
    return norm == 0 ? difference.squareRoot() : (difference / norm).squareRoot()
}
