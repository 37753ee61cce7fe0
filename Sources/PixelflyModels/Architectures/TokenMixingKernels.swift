import PixelflyCore

/// Sizes of a dense token-mixing MLP: T tokens, C channels, H hidden units.
struct TokenMixingShape {
    var tokens: Int
    var channels: Int
    var hidden: Int

    /// Elements of one thread's gradient slot: dW₁ (H×T), db₁ (H), dW₂ (T×H), db₂ (T), and with
    /// a pre-norm its dγ and dβ (C each).
    func gradientSlotCount(preNorm: Bool) -> Int { 2 * hidden * tokens + hidden + tokens + (preNorm ? 2 * channels : 0) }

    /// Elements of one thread's scratch: gelu′(H_b), A_b and dA_b / dH_b (H×C each), and with a
    /// pre-norm LN(X_b) and its gradient (T×C each) and the rows' (μ, r) (2T).
    func scratchCount(preNorm: Bool) -> Int { 3 * hidden * channels + (preNorm ? 2 * tokens * channels + 2 * tokens : 0) }
}

/// The per-sequence loops of `DenseTokenMixing` on raw pointers (see its documentation for the
/// formulas). Specialised for Float and Double; every product is one single-threaded call on the
/// thread that owns the sequence: `products` for the four that write a block of the sequence
/// (LIBXSMM kernels where it generates them), `BlockKernels.addInnerProducts` for the weight
/// gradients with their bias gradients.
///
/// With a `PreNorm`, the loops run the whole pre-norm residual block `x + f(LN(x))` of a sequence
/// (`PreNormResidual` hands it over): LN(X_b) is made in the thread's scratch, the residual is
/// added to Y_b as it is finished, and the backward recomputes LN(X_b) and ends with the norm's
/// backward of the sequence's rows, the skip gradient added. Neither LN(X) nor its gradient
/// then passes through memory.
enum TokenMixingKernels {
    struct Weights<S> {
        var w1: UnsafePointer<S>
        var b1: UnsafePointer<S>
        var w2: UnsafePointer<S>
        var b2: UnsafePointer<S>
    }

    /// The LayerNorm in front of the MLP: γ, β (C each) and ε.
    struct PreNorm<S> {
        var gain: UnsafePointer<S>
        var bias: UnsafePointer<S>
        var epsilon: S
    }

    /// One thread's scratch (`TokenMixingShape.scratchCount`), carved into its blocks.
    struct Scratch<S> {
        let slope, activated, hiddenGradient, normalized, normalizedGradient, statistics: UnsafeMutablePointer<S>

        init(_ base: UnsafeMutablePointer<S>, _ shape: TokenMixingShape) {
            let (h, c, t) = (shape.hidden * shape.channels, shape.channels, shape.tokens)
            (slope, activated, hiddenGradient) = (base, base + h, base + 2 * h)
            normalized = base + 3 * h
            normalizedGradient = normalized + t * c
            statistics = normalizedGradient + t * c
        }
    }

    /// Sequences `0..<count` in one contiguous range per thread (`ComputeThreads.forEachPart`, at
    /// least one sequence a part); `part` numbers the ranges (fixed for a given count and thread
    /// count), `worker` is the thread running it. Empty ranges are skipped.
    static func forEachSequenceRange(_ count: Int, _ body: (Range<Int>, _ part: Int, _ worker: Int) -> Void) {
        ComputeThreads.forEachPart(items: count, minimumPerPart: 1, body)
    }

    /// Y_b for sequences `0..<sequences` (x + Y_b with a pre-norm, whose LN(X_b) the MLP then
    /// reads). Nothing is kept for the backward, which recomputes what it needs from x (see
    /// `backward`); `scratch` holds `scratchCount` elements per thread.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func forward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, weights: Weights<S>, products: TokenMixingProducts<S>,
        preNorm: PreNorm<S>?, scratch: UnsafeMutablePointer<S>, y: UnsafeMutablePointer<S>
    ) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        let stride = shape.scratchCount(preNorm: preNorm != nil)
        forEachSequenceRange(sequences) { range, _, worker in
            let work = Scratch(scratch + worker * stride, shape)
            let ab = work.activated
            for b in range {
                let (xb, yb) = (x + b * t * c, y + b * t * c)
                let input = preNorm.map { normalize(shape, xb, $0, into: work) } ?? xb
                addHiddenLayer(shape, x: input, weights: weights, products: products, into: ab)
                BlockKernels.geluForward(ab, ab, count: h * c) // A_b = gelu(H_b), in place
                fillRows(yb, rows: t, cols: c, with: weights.b2)
                products.addOutput(w2: weights.w2, activated: ab, into: yb)
                if preNorm != nil { S.axpy(count: t * c, alpha: 1, x: xb, y: yb) }
            }
        }
    }

    /// LN(X_b) into `work.normalized` (the rows' statistics into `work.statistics`); returns it.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func normalize<S: TensorScalar>(
        _ shape: TokenMixingShape, _ xb: UnsafePointer<S>, _ norm: PreNorm<S>, into work: Scratch<S>
    ) -> UnsafePointer<S> {
        BlockKernels.layerNormRowsOnThisThread(xb, work.normalized, rows: shape.tokens, count: shape.channels,
                                               gain: norm.gain, bias: norm.bias, epsilon: norm.epsilon,
                                               statistics: work.statistics)
        return UnsafePointer(work.normalized)
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
    /// (`slots` × `gradientSlotCount`, overwritten; slots ≥ ComputeThreads.count); `scratch`
    /// holds `scratchCount` elements per thread. With a pre-norm, `dy` is the block's output
    /// gradient, dX = LNᵀ(dX̂) + dy, and the slots end with dγ and dβ.
    ///
    /// H_b and A_b are recomputed from X_b and the weights, sequence by sequence, instead of
    /// being kept by the forward. That is one more product of the size of the other six
    /// (2·H·T·C FLOPs a sequence) and one more GELU, while keeping A_b and gelu′(H_b) wrote
    /// 2·B·H·C elements in the forward (12 MB per layer in the default Mixer: B 64, H 32,
    /// C 768) and read them back from memory in the backward. Recomputed, they stay in the
    /// thread's L2 between the products that use them (the Pixelfly Mixer step 1.2 ms faster on
    /// an Intel Xeon, notebooks-md/kernel-passes/51-token-mixing-recomputed.md).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func backward<S: TensorScalar>(
        _ shape: TokenMixingShape, sequences: Int, x: UnsafePointer<S>, dy: UnsafePointer<S>,
        weights: Weights<S>, products: TokenMixingProducts<S>, preNorm: PreNorm<S>?,
        dx: UnsafeMutablePointer<S>, scratch: UnsafeMutablePointer<S>, partials: UnsafeMutablePointer<S>, slots: Int
    ) {
        let (t, c, h) = (shape.tokens, shape.channels, shape.hidden)
        let (slotCount, stride) = (shape.gradientSlotCount(preNorm: preNorm != nil), shape.scratchCount(preNorm: preNorm != nil))
        partials.initialize(repeating: 0, count: slots * slotCount)
        forEachSequenceRange(sequences) { range, part, worker in
            // Gradient slots by range, not by thread: the sums then do not depend on which
            // thread ran which range, so training is bit-for-bit repeatable.
            let slot = partials + part * slotCount
            let (dW1, db1) = (slot, slot + h * t)
            let (dW2, db2) = (db1 + h, db1 + h + t * h)
            let (dGain, dBias) = (db2 + t, db2 + t + c)
            let work = Scratch(scratch + worker * stride, shape)
            let (slope, ab, dHidden) = (work.slope, work.activated, work.hiddenGradient)
            for b in range {
                let (xb, dyb, dxb) = (x + b * t * c, dy + b * t * c, dx + b * t * c)
                let input = preNorm.map { normalize(shape, xb, $0, into: work) } ?? xb
                addHiddenLayer(shape, x: input, weights: weights, products: products, into: slope)
                BlockKernels.geluForwardKeepingDerivative(slope, ab, count: h * c) // the forward's A_b; slope ← gelu′(H_b)
                BlockKernels.addInnerProducts(dyb, lda: c, ab, ldb: c, into: dW2, ldc: h, m: t, n: h, k: c, rowSums: db2)
                products.hiddenGradient(w2: weights.w2, dy: dyb, into: dHidden)
                BlockKernels.scale(slope, dHidden, count: h * c)
                BlockKernels.addInnerProducts(dHidden, lda: c, input, ldb: c, into: dW1, ldc: t, m: h, n: t, k: c, rowSums: db1)
                guard let preNorm else {
                    products.inputGradient(w1: weights.w1, dh: dHidden, into: dxb)
                    continue
                }
                products.inputGradient(w1: weights.w1, dh: dHidden, into: work.normalizedGradient)
                BlockKernels.layerNormRowsBackwardOnThisThread(
                    xb, work.normalizedGradient, dxb, rows: t, count: c, gain: preNorm.gain, statistics: work.statistics,
                    gainGradient: dGain, biasGradient: dBias, skip: dyb)
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
