import PixelflyCore

/// Forward and backward of `MonarchLinear` as batched GEMMs, one single-threaded BLAS call per
/// block, the blocks handed out over `ComputeThreads`.
///
/// The intermediate h is kept feature-major (row f of `hidden` is h[:, f]): stage 1 then writes
/// block κ as the contiguous rows κ·q..<(κ+1)·q, and stage 2 reads block λ's rows ρ·l + λ as a
/// matrix with row stride l·batch — the reshape-transpose P costs no copy. Only the output
/// index σ·l + λ is scattered, in one pass over (batch, out):
///
///     forward   Hκ (q × batch)   = R[κ] · Xκᵀ                    Xκ = x[:, κ·p ..< κ·p + p]
///               Zλ (batch × s)   = Hλᵀ · L[λ]ᵀ                   Hλ = rows {ρ·l + λ} of H
///               y[b, σ·l + λ]    = Zλ[b, σ] + bias
///     backward  dZλ[b, σ]        = dy[b, σ·l + λ]   (0 in the padding)
///               dL[λ]           += dZλᵀ · Hλᵀ,       dHλ = L[λ]ᵀ · dZλᵀ
///               dR[κ]           += dHκ · Xκ,         dXκ = dHκᵀ · R[κ]
///
/// Padded input columns are never read: block κ uses only its `validInput` columns (k of its
/// GEMMs shrinks), which is the same as multiplying zeros.
extension MonarchLinear {
    @inlinable
    @_specialize(exported: true, where Scalar == Float)
    public func forward(_ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) throws {
        try checkInput(x, "MonarchLinear.forward")
        forwardInput.record(x)
        let batch = x.rows
        let (k, p, q, s) = (shape.nblocks, shape.p, shape.q, shape.s)
        let (inputs, outputs, paddedOutput) = (inputFeatures, outputFeatures, shape.paddedOutput)
        hidden.reshape(rows: shape.middle, cols: batch)
        permuted.reshape(rows: batch, cols: paddedOutput)
        y.reshape(rows: batch, cols: outputs)
        if batch == 0 { return }
        let shape = self.shape
        x.withUnsafeBufferPointer { xb in
            blkdiag1.value.withUnsafeBufferPointer { r in
                hidden.withUnsafeMutableBufferPointer { hb in
                    let (x, r, h) = (xb.baseAddress!, r.baseAddress!, hb.baseAddress!)
                    ComputeThreads.parallelFor(k) { κ, _ in
                        let valid = shape.validInput(block: κ)
                        let out = h + κ * q * batch
                        if valid == 0 {
                            out.update(repeating: 0, count: q * batch)
                            return
                        }
                        Scalar.gemm(.none, .transposed, m: q, n: batch, k: valid, alpha: 1, a: r + κ * q * p, lda: p,
                                    b: x + κ * p, ldb: inputs, beta: 0, c: out, ldc: batch)
                    }
                }
            }
        }
        hidden.withUnsafeBufferPointer { hb in
            blkdiag2.value.withUnsafeBufferPointer { l in
                permuted.withUnsafeMutableBufferPointer { zb in
                    let (h, l, z) = (hb.baseAddress!, l.baseAddress!, zb.baseAddress!)
                    ComputeThreads.parallelFor(k) { λ, _ in
                        Scalar.gemm(.transposed, .transposed, m: batch, n: s, k: q, alpha: 1, a: h + λ * batch, lda: k * batch,
                                    b: l + λ * s * q, ldb: q, beta: 0, c: z + λ * s, ldc: paddedOutput)
                    }
                }
            }
        }
        Self.scatterOutput(permuted, bias: bias?.value, shape: shape, into: &y)
    }

    @inlinable
    @_specialize(exported: true, where Scalar == Float)
    public func backward(input x: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>,
                         inputGradient dx: inout Matrix<Scalar>) throws {
        try checkOutputGradient(dy, input: x, "MonarchLinear.backward")
        let batch = x.rows
        guard hidden.rows == shape.middle, hidden.cols == batch else {
            throw ShapeError("MonarchLinear.backward", "no forward pass on this \(batch)-row input precedes the backward")
        }
        try forwardInput.check(x, "MonarchLinear.backward")
        let (k, p, q, s) = (shape.nblocks, shape.p, shape.q, shape.s)
        let (inputs, paddedOutput) = (inputFeatures, shape.paddedOutput)
        dx.reshape(rows: batch, cols: inputs)
        if batch == 0 { return }
        if let bias { try bias.updateGradient { try addColumnSums(of: dy, into: &$0) } }
        // dZ reuses the forward's z buffer: z is not needed by the backward.
        Self.gatherOutputGradient(dy, shape: shape, into: &permuted)
        hiddenGradient.reshape(rows: shape.middle, cols: batch)
        permuted.withUnsafeBufferPointer { zb in
            hidden.withUnsafeBufferPointer { hb in
                blkdiag2.value.withUnsafeBufferPointer { lb in
                    blkdiag2.withMutableGradientElements { glb in
                        hiddenGradient.withUnsafeMutableBufferPointer { dhb in
                            let (dz, h, l, gl, dh) = (zb.baseAddress!, hb.baseAddress!, lb.baseAddress!, glb.baseAddress!, dhb.baseAddress!)
                            ComputeThreads.parallelFor(k) { λ, _ in
                                Scalar.gemm(.transposed, .transposed, m: s, n: q, k: batch, alpha: 1, a: dz + λ * s, lda: paddedOutput,
                                            b: h + λ * batch, ldb: k * batch, beta: 1, c: gl + λ * s * q, ldc: q)
                                Scalar.gemm(.transposed, .transposed, m: q, n: batch, k: s, alpha: 1, a: l + λ * s * q, lda: q,
                                            b: dz + λ * s, ldb: paddedOutput, beta: 0, c: dh + λ * batch, ldc: k * batch)
                            }
                        }
                    }
                }
            }
        }
        let shape = self.shape
        x.withUnsafeBufferPointer { xb in
            hiddenGradient.withUnsafeBufferPointer { dhb in
                blkdiag1.value.withUnsafeBufferPointer { rb in
                    blkdiag1.withMutableGradientElements { grb in
                        dx.withUnsafeMutableBufferPointer { dxb in
                            let (x, dh, r, gr, dx) = (xb.baseAddress!, dhb.baseAddress!, rb.baseAddress!, grb.baseAddress!, dxb.baseAddress!)
                            ComputeThreads.parallelFor(k) { κ, _ in
                                let valid = shape.validInput(block: κ)
                                if valid == 0 { return }
                                Scalar.gemm(.none, .none, m: q, n: valid, k: batch, alpha: 1, a: dh + κ * q * batch, lda: batch,
                                            b: x + κ * p, ldb: inputs, beta: 1, c: gr + κ * q * p, ldc: p)
                                Scalar.gemm(.transposed, .none, m: batch, n: valid, k: q, alpha: 1, a: dh + κ * q * batch, lda: batch,
                                            b: r + κ * q * p, ldb: p, beta: 0, c: dx + κ * p, ldc: inputs)
                            }
                        }
                    }
                }
            }
        }
    }

    /// y[b, σ·l + λ] = z[b, λ·s + σ] (+ bias) for σ·l + λ < out; bands of rows over the threads.
    /// The permutation moves bit patterns (`MonarchPermutation`), so it runs as concrete code
    /// even where this generic method is not specialised; the bias is one axpy per row.
    @inlinable
    static func scatterOutput(_ z: Matrix<Scalar>, bias: Matrix<Scalar>?, shape: MonarchShape, into y: inout Matrix<Scalar>) {
        let (batch, outputs) = (z.rows, shape.outputFeatures)
        z.withUnsafeBufferPointer { zb in
            y.withUnsafeMutableBufferPointer { yb in
                withOptionalBuffer(bias) { biasBuffer in
                    let (z, y) = (UnsafeRawPointer(zb.baseAddress!), yb.baseAddress!)
                    ComputeThreads.parallelRanges(batch, minimumLength: 16, alignment: 1) { rows in
                        MonarchPermutation.scatter(z, UnsafeMutableRawPointer(y), rows: rows, shape: shape,
                                                   elementSize: MemoryLayout<Scalar>.stride)
                        if let biasBuffer {
                            for b in rows { Scalar.axpy(count: outputs, alpha: 1, x: biasBuffer, y: y + b * outputs) }
                        }
                    }
                }
            }
        }
    }

    /// dz[b, λ·s + σ] = dy[b, σ·l + λ], 0 where σ·l + λ ≥ out (padding).
    @inlinable
    static func gatherOutputGradient(_ dy: Matrix<Scalar>, shape: MonarchShape, into dz: inout Matrix<Scalar>) {
        let batch = dy.rows
        dz.reshape(rows: batch, cols: shape.paddedOutput)
        dy.withUnsafeBufferPointer { dyb in
            dz.withUnsafeMutableBufferPointer { dzb in
                let (dy, dz) = (UnsafeRawPointer(dyb.baseAddress!), UnsafeMutableRawPointer(dzb.baseAddress!))
                ComputeThreads.parallelRanges(batch, minimumLength: 16, alignment: 1) { rows in
                    MonarchPermutation.gather(dy, dz, rows: rows, shape: shape, elementSize: MemoryLayout<Scalar>.stride)
                }
            }
        }
    }
}

/// `body` with a pointer to `matrix`'s elements, or nil.
@inlinable
func withOptionalBuffer<Scalar: TensorScalar, R>(_ matrix: Matrix<Scalar>?, _ body: (UnsafePointer<Scalar>?) -> R) -> R {
    guard let matrix else { return body(nil) }
    return matrix.withUnsafeBufferPointer { body($0.baseAddress) }
}
