import PixelflyCore

/// How a vision model turns its (B·T, D) token features into one (B, D) row per image.
public enum Pooling: String, Codable, Sendable, CaseIterable {
    /// The output row of a learned class token prepended to the patches (ViT).
    case classToken
    /// The mean over all tokens (Mixer; ViT variant).
    case mean
}

/// Row-wise operations on (B·T, D) token matrices shared by the models. Each forward has its
/// backward next to it.
enum TokenOperations {
    /// x[b·T + t] += positions[t] for every sequence b.
    static func addPositions<Scalar: TensorScalar>(_ positions: Matrix<Scalar>, to x: inout Matrix<Scalar>) {
        let (t, d) = (positions.rows, positions.cols)
        positions.withUnsafeBufferPointer { p in
            x.withUnsafeMutableBufferPointer { px in
                for row in 0..<(px.count / d) {
                    Scalar.axpy(count: d, alpha: 1, x: p.baseAddress! + (row % t) * d, y: px.baseAddress! + row * d)
                }
            }
        }
    }

    /// positionsGradient[t] += Σ_b dx[b·T + t] (backward of `addPositions`).
    static func accumulatePositionGradient<Scalar: TensorScalar>(_ dx: Matrix<Scalar>, into gradient: inout Matrix<Scalar>) {
        let (t, d) = (gradient.rows, gradient.cols)
        dx.withUnsafeBufferPointer { g in
            gradient.withUnsafeMutableBufferPointer { pg in
                for row in 0..<(g.count / d) {
                    Scalar.axpy(count: d, alpha: 1, x: g.baseAddress! + row * d, y: pg.baseAddress! + (row % t) * d)
                }
            }
        }
    }

    /// (B·T, D) → (B, D): the first row of each sequence, or the mean of its rows. Sequences are
    /// split over the threads, like `poolBackward`.
    static func pool<Scalar: TensorScalar>(_ h: Matrix<Scalar>, tokens: Int, pooling: Pooling, into pooled: inout Matrix<Scalar>) {
        let (d, batch) = (h.cols, h.rows / tokens)
        pooled.ensureShape(rows: batch, cols: d)
        let weight: Scalar = pooling == .mean ? 1 / Scalar(tokens) : 1
        let used = pooling == .mean ? tokens : 1
        h.withUnsafeBufferPointer { ph in
            pooled.withUnsafeMutableBufferPointer { pp in
                let (source, target) = (ph.baseAddress!, pp.baseAddress!)
                ComputeThreads.forEachPart(items: batch, work: batch * used * d, minimumPerPart: 1 << 15) { sequences, _, _ in
                    UnsafeMutableRawPointer(target + sequences.lowerBound * d)
                        .initializeMemory(as: UInt8.self, repeating: 0, count: sequences.count * d * MemoryLayout<Scalar>.stride)
                    for b in sequences {
                        for t in 0..<used {
                            Scalar.axpy(count: d, alpha: weight, x: source + (b * tokens + t) * d, y: target + b * d)
                        }
                    }
                }
            }
        }
    }

    /// Backward of `pool`: dh[b·T + t] = dpooled[b] / T (mean) or, for the class token, dpooled[b]
    /// at t = 0 and zero elsewhere. Sequences are split over the threads (each zeroes its rows,
    /// then adds, while they are in cache); a (B·T, D) pass on one thread had left the other
    /// thread waiting for about 1 % of a Mixer training step
    /// (notebooks-md/kernel-passes/11-tail-stealing.md).
    static func poolBackward<Scalar: TensorScalar>(_ dpooled: Matrix<Scalar>, tokens: Int, pooling: Pooling,
                                                    into dh: inout Matrix<Scalar>) {
        let (d, batch) = (dpooled.cols, dpooled.rows)
        dh.ensureShape(rows: batch * tokens, cols: d)
        let weight: Scalar = pooling == .mean ? 1 / Scalar(tokens) : 1
        let used = pooling == .mean ? tokens : 1
        dpooled.withUnsafeBufferPointer { pp in
            dh.withUnsafeMutableBufferPointer { ph in
                let (source, target) = (pp.baseAddress!, ph.baseAddress!)
                ComputeThreads.forEachPart(items: batch, work: batch * tokens * d, minimumPerPart: 1 << 15) { sequences, _, _ in
                    UnsafeMutableRawPointer(target + sequences.lowerBound * tokens * d)
                        .initializeMemory(as: UInt8.self, repeating: 0, count: sequences.count * tokens * d * MemoryLayout<Scalar>.stride)
                    for b in sequences {
                        for t in 0..<used {
                            Scalar.axpy(count: d, alpha: weight, x: source + b * d, y: target + (b * tokens + t) * d)
                        }
                    }
                }
            }
        }
    }

    /// Copies row `sourceRow` of `source` into row `targetRow` of `target` (same widths).
    static func copyRow<Scalar: TensorScalar>(_ source: Matrix<Scalar>, _ sourceRow: Int,
                                              into target: inout Matrix<Scalar>, _ targetRow: Int) {
        let d = source.cols
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                (t.baseAddress! + targetRow * d).update(from: s.baseAddress! + sourceRow * d, count: d)
            }
        }
    }

    /// target[targetRow] += source[sourceRow].
    static func addRow<Scalar: TensorScalar>(_ source: Matrix<Scalar>, _ sourceRow: Int,
                                             into target: inout Matrix<Scalar>, _ targetRow: Int) {
        let d = source.cols
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                Scalar.axpy(count: d, alpha: 1, x: s.baseAddress! + sourceRow * d, y: t.baseAddress! + targetRow * d)
            }
        }
    }
}
