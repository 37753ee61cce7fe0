import PixelflyCore

/// Finite-difference check of a layer's backward pass, in Double.
///
/// Uses the scalar loss L = Σ (y ⊙ G) for a fixed random G, so ∂L/∂y = G. Compares the
/// layer's ∂L/∂x and every ∂L/∂θ against central differences (L(v+h) − L(v−h)) / 2h on up to
/// `samples` randomly chosen coordinates of each tensor. Central differences have error
/// O(h²·|L'''|) + O(ε·|L|/h); with h = 1e-5 in Double that is around 1e-9 relative, so the
/// default tolerance of 1e-6 relative catches any wrong gradient formula.
struct GradientCheckResult: CustomStringConvertible {
    /// (tensor name, max relative error) for "input" and every parameter.
    var errors: [(String, Double)]
    var worst: Double { errors.map(\.1).max() ?? 0 }
    var description: String { errors.map { "\($0.0): \($0.1)" }.joined(separator: ", ") }
}

func gradientCheck<L: Layer>(_ layer: L, input: Matrix<Double>, samples: Int = 24, step: Double = 1e-5,
                             seed: UInt64 = 99) throws -> GradientCheckResult where L.Scalar == Double {
    var rng = SeededRandom(seed: seed)
    var y = Matrix<Double>(rows: 0, cols: 0)
    try layer.forward(input, into: &y)
    let g = Matrix<Double>(rows: y.rows, cols: y.cols, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)

    func loss(_ x: Matrix<Double>) throws -> Double {
        var out = Matrix<Double>(rows: 0, cols: 0)
        try layer.forward(x, into: &out)
        return zip(out.storage, g.storage).reduce(0) { $0 + $1.0 * $1.1 }
    }

    layer.zeroGradients()
    try layer.forward(input, into: &y)
    var dx = Matrix<Double>(rows: 0, cols: 0)
    try layer.backward(input: input, outputGradient: g, inputGradient: &dx)
    let analyticParameterGradients = layer.parameters.map(\.gradient)

    /// Relative error: |a − n| / max(|a|, |n|, 1e-3 · scale) where scale is the largest
    /// gradient magnitude of that tensor, so tiny entries do not dominate.
    func relativeError(_ analytic: Double, _ numeric: Double, scale: Double) -> Double {
        abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-3 * scale, 1e-12)
    }

    var errors: [(String, Double)] = []
    var x = input
    let inputScale = dx.storage.map(abs).max() ?? 0
    var worst = 0.0
    for _ in 0..<min(samples, x.count) {
        let index = rng.index(below: x.count)
        let (i, j) = (index / x.cols, index % x.cols)
        let saved = x[i, j]
        x[i, j] = saved + step
        let plus = try loss(x)
        x[i, j] = saved - step
        let minus = try loss(x)
        x[i, j] = saved
        worst = max(worst, relativeError(dx[i, j], (plus - minus) / (2 * step), scale: inputScale))
    }
    errors.append(("input", worst))

    for (parameter, analytic) in zip(layer.parameters, analyticParameterGradients) {
        let scale = analytic.storage.map(abs).max() ?? 0
        worst = 0
        for _ in 0..<min(samples, parameter.count) {
            let index = rng.index(below: parameter.count)
            let (i, j) = (index / parameter.value.cols, index % parameter.value.cols)
            let saved = parameter.value[i, j]
            parameter.withMutableValueElements { $0[index] = saved + step }
            let plus = try loss(input)
            parameter.withMutableValueElements { $0[index] = saved - step }
            let minus = try loss(input)
            parameter.withMutableValueElements { $0[index] = saved }
            worst = max(worst, relativeError(analytic[i, j], (plus - minus) / (2 * step), scale: scale))
        }
        errors.append((parameter.name, worst))
    }
    return GradientCheckResult(errors: errors)
}
