import PixelflyCore

/// Layers applied one after another: y = f_{n−1}(… f_1(f_0(x))).
///
/// Keeps every intermediate output (the inputs of layers 1…n−1) for the backward pass, which
/// walks the layers in reverse, ping-ponging between two gradient buffers. All buffers are
/// reused across steps.
public final class LayerSequence<Scalar: TensorScalar>: Layer {
    public let layers: [any Layer<Scalar>]
    public let parameters: [Parameter<Scalar>]
    /// Index in `parameters` of layer i's first parameter.
    public let parameterOffsets: [Int]
    /// outputs[i] is the output of layer i and the input of layer i + 1.
    private var outputs: [Matrix<Scalar>]
    private var gradient = Matrix<Scalar>(rows: 0, cols: 0)
    private var nextGradient = Matrix<Scalar>(rows: 0, cols: 0)

    public init(_ layers: [any Layer<Scalar>]) throws {
        guard !layers.isEmpty else { throw ShapeError("LayerSequence", "needs at least one layer") }
        self.layers = layers
        parameters = layers.flatMap { $0.parameters }
        var offsets: [Int] = []
        var offset = 0
        for layer in layers {
            offsets.append(offset)
            offset += layer.parameters.count
        }
        parameterOffsets = offsets
        outputs = Array(repeating: Matrix(rows: 0, cols: 0), count: layers.count - 1)
    }

    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        let last = layers.count - 1
        for i in 0..<last {
            try layers[i].forward(i == 0 ? x : outputs[i - 1], into: &outputs[i])
        }
        try layers[last].forward(last == 0 ? x : outputs[last - 1], into: &y)
    }

    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try backward(input: x, outputGradient: dy, inputGradient: &dx, gradientsReady: { _ in })
    }

    /// The backward pass, calling `gradientsReady(parameterOffsets[i])` after layer i: from then
    /// on the gradients of `parameters[parameterOffsets[i]...]` are final.
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>, gradientsReady: (Int) throws -> Void) throws {
        let last = layers.count - 1
        if last == 0 {
            try layers[0].backward(input: x, outputGradient: dy, inputGradient: &dx)
            try gradientsReady(0)
            return
        }
        try layers[last].backward(input: outputs[last - 1], outputGradient: dy, inputGradient: &gradient)
        try gradientsReady(parameterOffsets[last])
        for i in stride(from: last - 1, through: 1, by: -1) {
            try layers[i].backward(input: outputs[i - 1], outputGradient: gradient, inputGradient: &nextGradient)
            swap(&gradient, &nextGradient)
            try gradientsReady(parameterOffsets[i])
        }
        try layers[0].backward(input: x, outputGradient: gradient, inputGradient: &dx)
        try gradientsReady(0)
    }
}
