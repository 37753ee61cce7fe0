/// The output permutation of a Monarch product on raw elements: row by row,
///
///     scatter:  y[b, σ·l + λ] = z[b, λ·s + σ]        (σ·l + λ < out)
///     gather:   z[b, λ·s + σ] = y[b, σ·l + λ]        (0 where σ·l + λ ≥ out)
///
/// with y rows `out` long and z rows l·s long. It only moves bit patterns, so it is written for
/// 4- and 8-byte words and runs as concrete code whatever the caller's scalar type (a generic
/// loop that is not specialised copies each element through the runtime's value witnesses,
/// which profiled at several times the cost of the GEMMs around it). All-zero bits are 0.0.
public enum MonarchPermutation {
    @inlinable
    public static func scatter(_ z: UnsafeRawPointer, _ y: UnsafeMutableRawPointer, rows: Range<Int>,
                               shape: MonarchShape, elementSize: Int) {
        if elementSize == 4 {
            scatter(z.assumingMemoryBound(to: UInt32.self), y.assumingMemoryBound(to: UInt32.self), rows: rows, shape: shape)
        } else {
            precondition(elementSize == 8, "Monarch permutation of \(elementSize)-byte elements")
            scatter(z.assumingMemoryBound(to: UInt64.self), y.assumingMemoryBound(to: UInt64.self), rows: rows, shape: shape)
        }
    }

    @inlinable
    public static func gather(_ y: UnsafeRawPointer, _ z: UnsafeMutableRawPointer, rows: Range<Int>,
                              shape: MonarchShape, elementSize: Int) {
        if elementSize == 4 {
            gather(y.assumingMemoryBound(to: UInt32.self), z.assumingMemoryBound(to: UInt32.self), rows: rows, shape: shape)
        } else {
            precondition(elementSize == 8, "Monarch permutation of \(elementSize)-byte elements")
            gather(y.assumingMemoryBound(to: UInt64.self), z.assumingMemoryBound(to: UInt64.self), rows: rows, shape: shape)
        }
    }

    @inlinable
    static func scatter<Word: FixedWidthInteger>(_ z: UnsafePointer<Word>, _ y: UnsafeMutablePointer<Word>,
                                                 rows: Range<Int>, shape: MonarchShape) {
        let (l, s, outputs, padded) = (shape.nblocks, shape.s, shape.outputFeatures, shape.paddedOutput)
        for b in rows {
            let (zRow, yRow) = (z + b * padded, y + b * outputs)
            for λ in 0..<l {
                let count = shape.validOutput(block: λ)
                let source = zRow + λ * s
                for σ in 0..<count { yRow[σ * l + λ] = source[σ] }
            }
        }
    }

    @inlinable
    static func gather<Word: FixedWidthInteger>(_ y: UnsafePointer<Word>, _ z: UnsafeMutablePointer<Word>,
                                                rows: Range<Int>, shape: MonarchShape) {
        let (l, s, outputs, padded) = (shape.nblocks, shape.s, shape.outputFeatures, shape.paddedOutput)
        for b in rows {
            let (yRow, zRow) = (y + b * outputs, z + b * padded)
            for λ in 0..<l {
                let count = shape.validOutput(block: λ)
                let target = zRow + λ * s
                for σ in 0..<count { target[σ] = yRow[σ * l + λ] }
                for σ in count..<s { target[σ] = 0 }
            }
        }
    }
}
