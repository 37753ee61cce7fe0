/// Entry points from generic `Scalar` code into the SIMD kernels: one type test per call picks
/// the concrete instantiation (8 Float lanes or 4 Double lanes, two SSE registers each; one
/// lane for batches of at most `scalarPathMaxBatch`), so no per-element work runs as
/// unspecialised generic code.
@inline(__always)
private func cast<T, U>(_ p: UnsafePointer<T>, to: U.Type) -> UnsafePointer<U> {
    UnsafeRawPointer(p).assumingMemoryBound(to: U.self)
}

@inline(__always)
private func cast<T, U>(_ p: UnsafeMutablePointer<T>, to: U.Type) -> UnsafeMutablePointer<U> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
}

/// Batches this small run one vector per chunk instead of padding to a full SIMD chunk.
let scalarPathMaxBatch = 2

func butterflyRun<Scalar>(
    layout: ButterflyLayout, twiddles: UnsafePointer<Scalar>, input: UnsafePointer<Scalar>,
    output: UnsafeMutablePointer<Scalar>, batch: Int, mapping: ChunkMapping<Scalar>,
    workspace: ButterflyWorkspace, save: Bool
) {
    if Scalar.self == Float.self, batch <= scalarPathMaxBatch {
        butterflyForward(Float.self, layout: layout, twiddles: cast(twiddles, to: Float.self),
                         input: cast(input, to: Float.self), output: cast(output, to: Float.self), batch: batch,
                         mapping: unsafeBitCast(mapping, to: ChunkMapping<Float>.self), workspace: workspace, save: save)
    } else if Scalar.self == Double.self, batch <= scalarPathMaxBatch {
        butterflyForward(Double.self, layout: layout, twiddles: cast(twiddles, to: Double.self),
                         input: cast(input, to: Double.self), output: cast(output, to: Double.self), batch: batch,
                         mapping: unsafeBitCast(mapping, to: ChunkMapping<Double>.self), workspace: workspace, save: save)
    } else if Scalar.self == Float.self {
        butterflyForward(SIMD8<Float>.self, layout: layout, twiddles: cast(twiddles, to: Float.self),
                         input: cast(input, to: Float.self), output: cast(output, to: Float.self), batch: batch,
                         mapping: unsafeBitCast(mapping, to: ChunkMapping<Float>.self), workspace: workspace, save: save)
    } else if Scalar.self == Double.self {
        butterflyForward(SIMD4<Double>.self, layout: layout, twiddles: cast(twiddles, to: Double.self),
                         input: cast(input, to: Double.self), output: cast(output, to: Double.self), batch: batch,
                         mapping: unsafeBitCast(mapping, to: ChunkMapping<Double>.self), workspace: workspace, save: save)
    } else {
        // Unreachable: `TensorScalar` is closed to Float and Double (see `SupportedScalarToken`).
        preconditionFailure("butterfly kernels exist for Float and Double only, not \(Scalar.self)")
    }
}

func butterflyRunBackward<Scalar>(
    layout: ButterflyLayout, twiddles: UnsafePointer<Scalar>, outputGradient: UnsafePointer<Scalar>,
    inputGradient: UnsafeMutablePointer<Scalar>, twiddleGradient: UnsafeMutablePointer<Scalar>, batch: Int,
    mapping: ChunkMapping<Scalar>, workspace: ButterflyWorkspace
) {
    if Scalar.self == Float.self, batch <= scalarPathMaxBatch {
        butterflyBackward(Float.self, layout: layout, twiddles: cast(twiddles, to: Float.self),
                          outputGradient: cast(outputGradient, to: Float.self), inputGradient: cast(inputGradient, to: Float.self),
                          twiddleGradient: cast(twiddleGradient, to: Float.self), batch: batch,
                          mapping: unsafeBitCast(mapping, to: ChunkMapping<Float>.self), workspace: workspace)
    } else if Scalar.self == Double.self, batch <= scalarPathMaxBatch {
        butterflyBackward(Double.self, layout: layout, twiddles: cast(twiddles, to: Double.self),
                          outputGradient: cast(outputGradient, to: Double.self), inputGradient: cast(inputGradient, to: Double.self),
                          twiddleGradient: cast(twiddleGradient, to: Double.self), batch: batch,
                          mapping: unsafeBitCast(mapping, to: ChunkMapping<Double>.self), workspace: workspace)
    } else if Scalar.self == Float.self {
        butterflyBackward(SIMD8<Float>.self, layout: layout, twiddles: cast(twiddles, to: Float.self),
                          outputGradient: cast(outputGradient, to: Float.self), inputGradient: cast(inputGradient, to: Float.self),
                          twiddleGradient: cast(twiddleGradient, to: Float.self), batch: batch,
                          mapping: unsafeBitCast(mapping, to: ChunkMapping<Float>.self), workspace: workspace)
    } else if Scalar.self == Double.self {
        butterflyBackward(SIMD4<Double>.self, layout: layout, twiddles: cast(twiddles, to: Double.self),
                          outputGradient: cast(outputGradient, to: Double.self), inputGradient: cast(inputGradient, to: Double.self),
                          twiddleGradient: cast(twiddleGradient, to: Double.self), batch: batch,
                          mapping: unsafeBitCast(mapping, to: ChunkMapping<Double>.self), workspace: workspace)
    } else {
        // Unreachable: `TensorScalar` is closed to Float and Double (see `SupportedScalarToken`).
        preconditionFailure("butterfly kernels exist for Float and Double only, not \(Scalar.self)")
    }
}
