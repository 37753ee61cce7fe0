import CLibXSMM
import PixelflyCore

/// The kernels a `BlockSparseLinear` runs its products on.
public enum BlockSparseBackend: String, Sendable, Codable, CaseIterable {
    /// LIBXSMM batch-reduce GEMM over b×b blocks, JIT-compiled for the CPU's instruction set
    /// (`BlockSparseXSMMKernel`). The default wherever LIBXSMM can generate kernels.
    case libxsmm
    /// One OpenBLAS GEMM per row group or column run (`BlockSparseKernel`); the fallback.
    case openBLAS

    /// Whether LIBXSMM generates kernels for `scalar` on this CPU (checked once per type).
    public static func libxsmmAvailable<S: TensorScalar>(for scalar: S.Type) -> Bool {
        if S.self == Float.self { return floatAvailable }
        if S.self == Double.self { return doubleAvailable }
        return false
    }

    private static let floatAvailable = probe(isDouble: 0)
    private static let doubleAvailable = probe(isDouble: 1)

    private static func probe(isDouble: Int32) -> Bool {
        pixelfly_xsmm_brgemm_offs(isDouble, 8, 8, 8, 8, 8, 8, 0) != nil
            && pixelfly_xsmm_gemm_nt_accumulate(isDouble, 8, 8, 8, 8, 8, 8) != nil
    }

    /// The instruction set LIBXSMM generates code for on this machine ("hsw" = AVX2,
    /// "skx"/"clx"/"cpx" = AVX-512, …; the `LIBXSMM_TARGET` environment variable overrides it).
    public static var libxsmmTarget: String { XSMMKernelSet.target }
}
