import CLibXSMM
import PixelflyCore

/// The LIBXSMM kernels one block-sparse layer needs at one batch size and thread count,
/// JIT-compiled (or found in LIBXSMM's registry) once and reused for every call at that size.
///
/// LIBXSMM generates code for the instruction set of the CPU it runs on (AVX2, AVX-512, …;
/// `LIBXSMM_TARGET` overrides it), so the same binary runs the best kernels on every x86 CPU.
/// All kernels are column-major; the row-major x, y, dx and dy are read as their transposes.
///
/// - forward (batch-reduce, m = b, n = tile rows, k = b): per output block row, y-tileᵀ
///   (+)= Σ W_tᵀ-blocks · x-tileᵀ-blocks.
/// - input gradient (batch-reduce, m = b, n = tile rows, k = b, β = 0): per input block column.
/// - weight gradient (plain, m = n = b, k = chunk rows, Bᵀ, β = 1): per block, one call per
///   chunk of `weightGradientChunk` batch rows, written straight into the panel (ldc = its width).
final class XSMMKernelSet {
    /// Batch rows per weight-gradient call.
    static let weightGradientChunk = 256
    /// Largest batch tile of the forward and input-gradient kernels.
    static let maximumTile = 64

    let batch: Int
    let threads: Int
    /// Rows per tile; the last tile has `batch % tile` rows when that is not 0.
    let tile: Int
    let isDouble: Int32
    /// [full tile, last tile] × [β = 0, β = 1].
    let forward: [[UnsafeRawPointer?]]
    /// [full tile, last tile].
    let inputGradient: [UnsafeRawPointer?]
    /// [full chunk, last chunk] × stride index.
    let weightGradient: [[UnsafeRawPointer?]]

    /// Dispatches every kernel; nil if LIBXSMM cannot generate one of them (no JIT for this CPU
    /// or scalar type), in which case the caller uses the OpenBLAS kernel.
    init?<S: TensorScalar>(_ plan: BlockSparseBlockPlan, layout: BlockSparseLayout, batch: Int, threads: Int,
                           scalar: S.Type, backwardLeadingDimension: Int) {
        guard S.self == Float.self || S.self == Double.self, batch > 0 else { return nil }
        let isDouble: Int32 = S.self == Double.self ? 1 : 0
        let b = Int32(plan.blockSize)
        // Enough tiles for every thread, in multiples of 8 rows, at most `maximumTile`.
        let perThread = (batch + threads - 1) / threads
        let tile = min(Self.maximumTile, max(8, (perThread + 7) / 8 * 8))
        let tileRows = [tile, batch % tile].map(Int32.init)
        let chunk = min(batch, Self.weightGradientChunk)
        let chunkRows = [chunk, batch % chunk].map(Int32.init)
        let (rows, cols) = (Int32(layout.rows), Int32(layout.cols))
        func checked(_ kernel: UnsafeRawPointer?, _ rows: Int32) -> (UnsafeRawPointer?, Bool) {
            (kernel, rows == 0 || kernel != nil)
        }
        var ok = true
        var forward: [[UnsafeRawPointer?]] = []
        var inputGradient: [UnsafeRawPointer?] = []
        for n in tileRows {
            var pair: [UnsafeRawPointer?] = []
            for betaOne: Int32 in [0, 1] {
                let (k, valid) = checked(n == 0 ? nil : pixelfly_xsmm_brgemm_offs(isDouble, b, n, b, b, cols, rows, betaOne), n)
                ok = ok && valid
                pair.append(k)
            }
            forward.append(pair)
            let (k, valid) = checked(n == 0 ? nil : pixelfly_xsmm_brgemm_offs(
                isDouble, b, n, b, Int32(backwardLeadingDimension), rows, cols, 0), n)
            ok = ok && valid
            inputGradient.append(k)
        }
        var weightGradient: [[UnsafeRawPointer?]] = []
        for k in chunkRows {
            weightGradient.append(plan.strides.map { ldc in
                let (kernel, valid) = checked(k == 0 ? nil : pixelfly_xsmm_gemm_nt_accumulate(isDouble, b, b, k, cols, rows, Int32(ldc)), k)
                ok = ok && valid
                return kernel
            })
        }
        guard ok else { return nil }
        self.batch = batch
        self.threads = threads
        self.tile = tile
        self.isDouble = isDouble
        self.forward = forward
        self.inputGradient = inputGradient
        self.weightGradient = weightGradient
    }

    /// Tiles of `tile` rows covering the batch (the last may be shorter).
    var tileCount: Int { (batch + tile - 1) / tile }

    /// The instruction set LIBXSMM generates code for on this machine ("hsw", "skx", …).
    static var target: String { String(cString: pixelfly_xsmm_target()) }
}
