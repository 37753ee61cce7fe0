import PixelflyCore

/// The token-mixing MLP of MLP-Mixer: an MLP over the token axis, shared across channels.
///
/// The input is (B·T, C). Each sequence's T×C slice is transposed to C×T, giving (B·C, T);
/// the MLP (T → hidden → T, linears from the factory) runs on those rows; the result is
/// transposed back to (B·T, C). Backward transposes the gradient the same way around the
/// MLP's backward.
public final class TokenMixing<Scalar: TensorScalar>: Layer {
    public let tokens: Int
    public let channels: Int
    public let mlp: MLPBlock<Scalar>
    private var transposedInput = Matrix<Scalar>(rows: 0, cols: 0)
    private var transposedOutput = Matrix<Scalar>(rows: 0, cols: 0)
    private var transposedOutputGradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var transposedInputGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(tokens: Int, channels: Int, hiddenFeatures: Int, name: String,
                linear: LinearFactory<Scalar>, rng: inout SeededRandom) throws {
        guard channels > 0 else { throw ShapeError("TokenMixing", "channels must be positive, got \(channels)") }
        self.tokens = tokens
        self.channels = channels
        mlp = try MLPBlock(features: tokens, hiddenFeatures: hiddenFeatures, name: name, linear: linear, rng: &rng)
    }

    public var parameters: [Parameter<Scalar>] { mlp.parameters }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        let batch = try sequences(in: x, "TokenMixing.forward")
        transposeSequences(x, batch: batch, rows: tokens, cols: channels, into: &transposedInput)
        try mlp.forward(transposedInput, into: &transposedOutput)
        transposeSequences(transposedOutput, batch: batch, rows: channels, cols: tokens, into: &y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        let batch = try sequences(in: x, "TokenMixing.backward")
        guard dy.rows == x.rows, dy.cols == x.cols else {
            throw ShapeError("TokenMixing.backward", "output gradient is \(dy.rows)×\(dy.cols); the input is \(x.rows)×\(x.cols)")
        }
        transposeSequences(dy, batch: batch, rows: tokens, cols: channels, into: &transposedOutputGradient)
        try mlp.backward(input: transposedInput, outputGradient: transposedOutputGradient, inputGradient: &transposedInputGradient)
        transposeSequences(transposedInputGradient, batch: batch, rows: channels, cols: tokens, into: &dx)
    }

    private func sequences(in x: Matrix<Scalar>, _ operation: String) throws -> Int {
        guard x.cols == channels, x.rows % tokens == 0 else {
            throw ShapeError(operation, "input is \(x.rows)×\(x.cols); expected (B·\(tokens))×\(channels)")
        }
        return x.rows / tokens
    }
}

/// Transposes each of the `batch` consecutive `rows`×`cols` slices of `x` (shape
/// (batch·rows, cols)) into `y` (shape (batch·cols, rows)).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func transposeSequences<Scalar: TensorScalar>(_ x: Matrix<Scalar>, batch: Int, rows: Int, cols: Int,
                                              into y: inout Matrix<Scalar>) {
    y.ensureShape(rows: batch * cols, cols: rows)
    x.withUnsafeBufferPointer { source in
        y.withUnsafeMutableBufferPointer { target in
            transposeSequences(source.baseAddress!, target.baseAddress!, batch: batch, rows: rows, cols: cols)
        }
    }
}

/// The pointer form of `transposeSequences`, slices spread over `ComputeThreads`. Each slice is
/// transposed in 16 × 16 tiles so that both the reads and the writes stay within a few cache lines.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func transposeSequences<Scalar: TensorScalar>(_ source: UnsafePointer<Scalar>, _ target: UnsafeMutablePointer<Scalar>,
                                              batch: Int, rows: Int, cols: Int) {
    let tile = 16
    ComputeThreads.parallelRanges(batch, minimumLength: max(1, 16_384 / max(rows * cols, 1)), alignment: 1) { sequences in
        for b in sequences {
            let from = source + b * rows * cols
            let to = target + b * rows * cols
            for i0 in stride(from: 0, to: rows, by: tile) {
                for j0 in stride(from: 0, to: cols, by: tile) {
                    for i in i0..<min(rows, i0 + tile) {
                        for j in j0..<min(cols, j0 + tile) { to[j * rows + i] = from[i * cols + j] }
                    }
                }
            }
        }
    }
}
