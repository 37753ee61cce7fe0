import Butterfly
import PixelflyCore
#if canImport(Glibc)
import Glibc
#endif

/// One DFT-learning run: the loss curve and the final error.
struct DFTLearningRun: Codable, Sendable {
    struct Point: Codable, Sendable {
        var step: Int
        var loss: Double
        var relativeError: Double
    }

    var n: Int
    var seed: UInt64
    var curve: [Point]
    /// ‖B·P − F/√n‖_F / ‖F/√n‖_F from the materialised butterfly.
    var finalRelativeError: Double
    var seconds: Double

    static func train(n: Int, steps: Int, learningRate: Double, seed: UInt64, every: Int,
                      progress: (Point) -> Void) throws -> DFTLearningRun {
        let layout = try ButterflyLayout(n: n, field: .complex, sharing: .perPair)
        var rng = SeededRandom(seed: seed)
        let bitReversal = try BitReversal.permutation(n)
        let layer = try ButterflyLayer(ButterflyMatrix<Double>.random(layout: layout, rng: &rng), inputPermutation: bitReversal)
        // x = e_j (row j), target row j = F·e_j / √n with F[k, j] = e^{−2πi jk/n}.
        var x = Matrix<Double>(rows: n, cols: 2 * n)
        var target = Matrix<Double>(rows: n, cols: 2 * n)
        for j in 0..<n {
            x[j, 2 * j] = 1
            for k in 0..<n {
                let angle = -2 * Double.pi * Double((j * k) % n) / Double(n)
                target[j, 2 * k] = cos(angle) / Double(n).squareRoot()
                target[j, 2 * k + 1] = sin(angle) / Double(n).squareRoot()
            }
        }
        var adam = Adam(count: layout.twiddleScalarCount)
        var y = Matrix<Double>(rows: 0, cols: 0), dy = Matrix<Double>(rows: n, cols: 2 * n), dx = Matrix<Double>(rows: 0, cols: 0)
        var curve: [Point] = []
        let start = monotonicSeconds()
        for step in 0...steps {
            try layer.forward(x, into: &y)
            var loss = 0.0
            for i in 0..<y.rows {
                for c in 0..<y.cols {
                    let r = y[i, c] - target[i, c]
                    loss += 0.5 * r * r / Double(n)
                    dy[i, c] = r / Double(n)
                }
            }
            if step % every == 0 || step == steps {
                let point = Point(step: step, loss: loss, relativeError: (2 * loss).squareRoot())
                curve.append(point)
                progress(point)
            }
            if step == steps { break }
            layer.zeroGradients()
            try layer.backward(input: x, outputGradient: dy, inputGradient: &dx)
            let rate = learningRate * (0.01 + 0.99 * 0.5 * (1 + cos(Double.pi * Double(step) / Double(steps))))
            adam.update(&layer.twiddles.value, gradient: layer.twiddles.gradient, learningRate: rate)
        }
        let seconds = monotonicSeconds() - start
        // Independent check: materialise B, permute its columns (B·P)[k, j] = B[k, i] with p[i] = j.
        let (re, im) = layer.butterfly.dense()
        var squaredError = 0.0
        for k in 0..<n {
            for i in 0..<n {
                let j = bitReversal[i]
                let dr = re[k, i] - target[j, 2 * k], di = im[k, i] - target[j, 2 * k + 1]
                squaredError += dr * dr + di * di
            }
        }
        return DFTLearningRun(n: n, seed: seed, curve: curve, finalRelativeError: (squaredError / Double(n)).squareRoot(), seconds: seconds)
    }
}

/// Adam (Kingma & Ba) with β₁ = 0.9, β₂ = 0.999, ε = 1e-12 on one flat parameter.
struct Adam {
    var m: [Double]
    var v: [Double]
    var t = 0

    init(count: Int) {
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
    }

    mutating func update(_ value: inout Matrix<Double>, gradient: Matrix<Double>, learningRate: Double) {
        t += 1
        let (b1, b2) = (0.9, 0.999)
        let c1 = 1 - pow(b1, Double(t)), c2 = 1 - pow(b2, Double(t))
        value.withUnsafeMutableBufferPointer { w in
            gradient.withUnsafeBufferPointer { g in
                for i in w.indices {
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    w[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-12)
                }
            }
        }
    }
}
