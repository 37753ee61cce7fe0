import PixelflyCore

/// Sizes of a dense token-mixing MLP: T tokens, C channels, H hidden units.
struct TokenMixingShape {
    var tokens: Int
    var channels: Int
    var hidden: Int

    /// Elements of one thread's gradient slot: dW₁ (H×T), db₁ (H), dW₂ (T×H), db₂ (T).
    var gradientSlotCount: Int { 2 * hidden * tokens + hidden + tokens }
}

/// The per-sequence loops of `DenseTokenMixing` on raw pointers (see its documentation for the
/// formulas). Specialised for Float and Double; every product is one single-threaded call on the
/// thread that owns the sequence: `products` for the four that write a block of the sequence
/// (LIBXSMM kernels where it generates them), `BlockKernels.addInnerProducts` for the weight
/// gradients with their bias gradients.
enum TokenMixingKernels {
    struct Weights<S> {
        var w1: UnsafePointer<S>
        var b1: UnsafePointer<S>
        var w2: UnsafePointer<S>
        var b2: UnsafePointer<S>
    }

    /// Sequences `0..<count` in one contiguous range per thread (`ComputeThreads.forEachPart`, at
    /// least one sequence a part); `part` numbers the ranges (fixed for a given count and thread
    /// count), `worker` is the thread running it. Empty ranges are skipped.
    static func forEachSequenceRange(_ count: Int, _ body: (Range<Int>, _ part: Int, _ worker: Int) -> Void) {
        ComputeThreads.forEachPart(items: count, minimumPerPart: 1, body)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func forward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, weights: Weights<S>, products: TokenMixingProducts<S>,
        hiddenSlope: UnsafeMutablePointer<S>, activated: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>
    ) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        forEachSequenceRange(sequences) { range, _, _ in
            for b in range {
                let hb = hiddenSlope + b * h * c, ab = activated + b * h * c, yb = y + b * t * c
                fillRows(hb, rows: h, cols: c, with: weights.b1)
                products.addHidden(w1: weights.w1, x: x + b * t * c, into: hb)
                // A_b = gelu(H_b); H_b's block then holds gelu′(H_b) for the backward.
                BlockKernels.geluForwardKeepingDerivative(hb, ab, count: h * c)
                fillRows(yb, rows: t, cols: c, with: weights.b2)
                products.addOutput(w2: weights.w2, activated: ab, into: yb)
            }
        }
    }

    /// Writes dX into `dx` and each sequence range's weight gradients into its slot of `partials`
    /// (`slots` × `gradientSlotCount`, overwritten; slots ≥ ComputeThreads.count). `scratch`
    /// holds `slots` × H×C elements, one H×C block per thread.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func backward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, dy: UnsafePointer<S>,
        w1: UnsafePointer<S>, w2: UnsafePointer<S>, products: TokenMixingProducts<S>,
        hiddenSlope: UnsafePointer<S>, activated: UnsafePointer<S>,
        dx: UnsafeMutablePointer<S>, scratch: UnsafeMutablePointer<S>, partials: UnsafeMutablePointer<S>, slots: Int
    ) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        partials.initialize(repeating: 0, count: slots * shape.gradientSlotCount)
        forEachSequenceRange(sequences) { range, part, worker in
            // Gradient slots by range, not by thread: the sums then do not depend on which
            // thread ran which range, so training is bit-for-bit repeatable.
            let slot = partials + part * shape.gradientSlotCount
            let (dW1, db1) = (slot, slot + h * t)
            let (dW2, db2) = (db1 + h, db1 + h + t * h)
            let dHidden = scratch + worker * h * c
            for b in range {
                let (xb, dyb) = (x + b * t * c, dy + b * t * c)
                let (slope, ab) = (hiddenSlope + b * h * c, activated + b * h * c)
                BlockKernels.addInnerProducts(dyb, lda: c, ab, ldb: c, into: dW2, ldc: h, m: t, n: h, k: c, rowSums: db2)
                products.hiddenGradient(w2: w2, dy: dyb, into: dHidden)
                BlockKernels.scale(slope, dHidden, count: h * c)
                BlockKernels.addInnerProducts(dHidden, lda: c, xb, ldb: c, into: dW1, ldc: t, m: h, n: t, k: c, rowSums: db1)
                products.inputGradient(w1: w1, dh: dHidden, into: dx + b * t * c)
            }
        }
    }

    /// Row r of the rows×cols matrix at `target` ← values[r] in every column.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func fillRows<S: TensorScalar>(_ target: UnsafeMutablePointer<S>, rows: Int, cols: Int, with values: UnsafePointer<S>) {
        for r in 0..<rows { (target + r * cols).update(repeating: values[r], count: cols) }
    }

}
