import PixelflyCore
import Testing

/// `Matrix(rows:cols:repeating:)` fills by bytes (a zero fill for +0, else doubling copies of the
/// first element): every element equals the value bit for bit, −0 keeps its sign, and counts
/// that are not powers of two end with a partial run.
@Suite("Matrix fill")
struct MatrixFillTests {
    func check<S: TensorScalar>(_: S.Type) {
        for (rows, cols) in [(0, 5), (1, 1), (1, 2), (1, 3), (3, 7), (17, 33), (100, 1)] {
            for value in [S(0), -S(0), S(2.5), -S(1) / S(3)] {
                let m = Matrix<S>(rows: rows, cols: cols, repeating: value)
                #expect(m.rows == rows && m.cols == cols && m.count == rows * cols)
                #expect(m.storage.allSatisfy { $0 == value && $0.sign == value.sign },
                        "\(S.self) \(rows)×\(cols) filled with \(value)")
            }
        }
    }

    @Test func everyElementIsTheValue() {
        check(Float.self)
        check(Double.self)
    }
}
