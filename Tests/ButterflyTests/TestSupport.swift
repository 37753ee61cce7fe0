import PixelflyCore

/// Largest absolute and relative (to the reference's max magnitude) errors of `actual` against
/// a Double reference, for failure messages.
struct ErrorReport: CustomStringConvertible {
    var maxAbs: Double
    var maxRel: Double
    var description: String { "max abs error \(maxAbs), max rel error \(maxRel)" }
}

func compare<S: TensorScalar>(_ actual: Matrix<S>, _ reference: Matrix<Double>) -> ErrorReport {
    precondition(actual.rows == reference.rows && actual.cols == reference.cols, "shape mismatch in test")
    var maxAbs = 0.0
    var scale = 0.0
    for (a, r) in zip(actual.storage, reference.storage) {
        maxAbs = max(maxAbs, abs(Double(a) - r))
        scale = max(scale, abs(r))
    }
    return ErrorReport(maxAbs: maxAbs, maxRel: scale == 0 ? maxAbs : maxAbs / scale)
}

/// Unit roundoff of a scalar type (2⁻²⁴ for Float, 2⁻⁵³ for Double).
func unitRoundoff<S: TensorScalar>(_: S.Type) -> Double { Double(S.ulpOfOne) / 2 }
