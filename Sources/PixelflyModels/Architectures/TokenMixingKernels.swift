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

    /// Y_b for sequences `0..<sequences`. Nothing is kept for the backward, which recomputes
    /// H_b and A_b from X_b (see `backward`); `scratch` holds one H×C block per thread.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func forward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, weights: Weights<S>, products: TokenMixingProducts<S>,
        scratch: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>
    ) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        forEachSequenceRange(sequences) { range, _, worker in
            let ab = scratch + worker * h * c
            for b in range {
                let yb = y + b * t * c
                addHiddenLayer(shape, x: x + b * t * c, weights: weights, products: products, into: ab)
                BlockKernels.geluForward(ab, ab, count: h * c) // A_b = gelu(H_b), in place
                fillRows(yb, rows: t, cols: c, with: weights.b2)
                products.addOutput(w2: weights.w2, activated: ab, into: yb)
            }
        }
    }

    /// H_b = W₁·X_b + b₁·1ᵀ into the H×C block at `hb`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func addHiddenLayer<S: TensorScalar>(
        _ shape: TokenMixingShape, x xb: UnsafePointer<S>, weights: Weights<S>, products: TokenMixingProducts<S>,
        into hb: UnsafeMutablePointer<S>
    ) {
        fillRows(hb, rows: shape.hidden, cols: shape.channels, with: weights.b1)
        products.addHidden(w1: weights.w1, x: xb, into: hb)
    }

    /// Writes dX into `dx` and each sequence range's weight gradients into its slot of `partials`
    /// (`slots` × `gradientSlotCount`, overwritten; slots ≥ ComputeThreads.count). `scratch`
    /// holds `slots` × 3 H×C blocks, three per thread: gelu′(H_b), A_b and dA_b / dH_b.
    ///
    /// H_b and A_b are recomputed from X_b and the weights, sequence by sequence, instead of
    /// being kept by the forward. That is one more product of the size of the other six
    /// (2·H·T·C FLOPs a sequence) and one more GELU, while keeping A_b and gelu′(H_b) wrote
    /// 2·B·H·C elements in the forward (12 MB per layer in the default Mixer: B 64, H 32,
    /// C 768) and read them back from memory in the backward. Recomputed, they stay in the
    /// thread's L2 between the products that use them.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func backward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, dy: UnsafePointer<S>,
        weights: Weights<S>, products: TokenMixingProducts<S>,
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
            let slope = scratch + worker * 3 * h * c
            let (ab, dHidden) = (slope + h * c, slope + 2 * h * c)
            for b in range {
                let (xb, dyb) = (x + b * t * c, dy + b * t * c)
                addHiddenLayer(shape, x: xb, weights: weights, products: products, into: slope)
                BlockKernels.geluForwardKeepingDerivative(slope, ab, count: h * c) // the forward's A_b; slope ← gelu′(H_b)
                BlockKernels.addInnerProducts(dyb, lda: c, ab, ldb: c, into: dW2, ldc: h, m: t, n: h, k: c, rowSums: db2)
                products.hiddenGradient(w2: weights.w2, dy: dyb, into: dHidden)
                BlockKernels.scale(slope, dHidden, count: h * c)
                BlockKernels.addInnerProducts(dHidden, lda: c, xb, ldb: c, into: dW1, ldc: t, m: h, n: t, k: c, rowSums: db1)
                products.inputGradient(w1: weights.w1, dh: dHidden, into: dx + b * t * c)
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
