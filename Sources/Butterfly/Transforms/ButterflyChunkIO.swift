/// Moving a chunk of W vectors between the caller's rows and the split work layout.
///
/// Caller rows: n real scalars, or n complex numbers interleaved (re, im). Work layout: plane
/// `re` then plane `im` (complex only), each n·W scalars with element i of lane l at i·W + l.
/// Permutations are gathers (y[i] = x[p[i]]); they cost nothing extra here because the
/// transpose into the work layout reads every element once anyway.
struct ChunkMapping<Scalar> {
    /// Rows of the caller's input hold n reals (else 2n interleaved scalars).
    var realInput = false
    var inputPermutation: UnsafePointer<Int>? = nil
    var outputPermutation: UnsafePointer<Int>? = nil
    /// n complex factors (interleaved) multiplying the output after the output permutation.
    var outputDiagonal: UnsafePointer<Scalar>? = nil
    /// Keep only the real part of a complex result (rows of n reals).
    var realOutput = false
}

/// Loads rows `row0 ..< row0 + lanes` of `input` into the work planes; unused lanes are zero.
@inline(__always)
func gatherChunk<S: BinaryFloatingPoint>(
    _ input: UnsafePointer<S>, row0: Int, lanes: Int, width: Int, n: Int, complexWork: Bool,
    realInput: Bool, permutation: UnsafePointer<Int>?, re: UnsafeMutablePointer<S>, im: UnsafeMutablePointer<S>
) {
    let planeCount = n * width
    if lanes < width {
        re.update(repeating: 0, count: planeCount)
        if complexWork { im.update(repeating: 0, count: planeCount) }
    }
    let rowStride = realInput ? n : 2 * n
    for l in 0..<lanes {
        let row = input + (row0 + l) * rowStride
        if realInput {
            for i in 0..<n { re[i * width + l] = row[permutation?[i] ?? i] }
            if complexWork { for i in 0..<n { im[i * width + l] = 0 } }
        } else {
            for i in 0..<n {
                let source = 2 * (permutation?[i] ?? i)
                re[i * width + l] = row[source]
                im[i * width + l] = row[source + 1]
            }
        }
    }
}

/// Stores the work planes into rows `row0 ..< row0 + lanes` of `output`, applying the output
/// permutation, the diagonal and the real-part projection of `mapping`.
@inline(__always)
func scatterChunk<S: BinaryFloatingPoint>(
    _ output: UnsafeMutablePointer<S>, row0: Int, lanes: Int, width: Int, n: Int, complexWork: Bool,
    mapping: ChunkMapping<S>, re: UnsafePointer<S>, im: UnsafePointer<S>
) {
    let realRows = !complexWork || mapping.realOutput
    let rowStride = realRows ? n : 2 * n
    for l in 0..<lanes {
        let row = output + (row0 + l) * rowStride
        for i in 0..<n {
            let j = (mapping.outputPermutation?[i] ?? i) * width + l
            var zr = re[j]
            var zi: S = complexWork ? im[j] : 0
            if let diagonal = mapping.outputDiagonal {
                let dr = diagonal[2 * i], di = diagonal[2 * i + 1]
                (zr, zi) = (dr * zr - di * zi, dr * zi + di * zr)
            }
            if realRows {
                row[i] = zr
            } else {
                row[2 * i] = zr
                row[2 * i + 1] = zi
            }
        }
    }
}
