import CLibXSMM
import PixelflyCore

/// The kernels a `BlockSparseLinear` runs its products on.
///
/// New layers use `preferred(for:)`: LIBXSMM where it generates AVX-512 code *and* OpenBLAS runs
/// an AVX-512 family too, OpenBLAS elsewhere — so the block-sparse products never use a wider
/// instruction set than the dense products they are compared with (a process started with
/// `OPENBLAS_CORETYPE=Haswell` on an AVX-512 CPU gets AVX2 code on both sides). Measured on an AMD Zen 5 (notebooks-md/kernel-families.md): with AVX-512 code the
/// LIBXSMM kernel took 0.215–0.27× dense time at batch ≥ 1024 against 0.22–0.41× for the
/// OpenBLAS one; forced to AVX2 (`LIBXSMM_TARGET=hsw`, OpenBLAS `Haswell`) it took 0.22–0.32×
/// against the OpenBLAS kernel's 0.21–0.29×, so on AVX2-only CPUs the OpenBLAS kernel stays.
public enum BlockSparseBackend: String, Sendable, Codable, CaseIterable {
    /// LIBXSMM batch-reduce GEMM over strips of blocks, JIT-compiled for the CPU's instruction
    /// set (`BlockSparseXSMMKernel`).
    case libxsmm
    /// One OpenBLAS GEMM per row group or column run (`BlockSparseKernel`).
    case openBLAS

    /// The faster backend on this CPU for `scalar`: `.libxsmm` if LIBXSMM generates AVX-512 code
    /// here (Skylake-SP class or newer) and kernels for `scalar`, and OpenBLAS's dense kernels are
    /// AVX-512 as well; else `.openBLAS`.
    public static func preferred<S: TensorScalar>(for scalar: S.Type) -> BlockSparseBackend {
        libxsmmAvailable(for: scalar) && libxsmmTargetsAVX512 && OpenBLASRuntime.usesAVX512Kernels ? .libxsmm : .openBLAS
    }

    /// Whether LIBXSMM generates AVX-512 code on this machine (`LIBXSMM_TARGET` overrides).
    public static var libxsmmTargetsAVX512: Bool { pixelfly_xsmm_target_is_avx512_core() != 0 }

    /// Whether LIBXSMM generates kernels for `scalar` on this CPU (checked once per type).
    public static func libxsmmAvailable<S: TensorScalar>(for scalar: S.Type) -> Bool {
        if S.self == Float.self { return floatAvailable }
        if S.self == Double.self { return doubleAvailable }
        return false
    }

    private static let floatAvailable = probe(isDouble: 0)
    private static let doubleAvailable = probe(isDouble: 1)

    private static func probe(isDouble: Int32) -> Bool {
        pixelfly_xsmm_brgemm_offs(isDouble, 8, 8, 8, 8, 8, 8) != nil
            && pixelfly_xsmm_gemm(isDouble, 8, 8, 8, 8, 8, 8, 1, 1) != nil
    }

    /// The instruction set LIBXSMM generates code for on this machine ("hsw" = AVX2,
    /// "skx"/"clx"/"cpx" = AVX-512, …; the `LIBXSMM_TARGET` environment variable overrides it).
    public static var libxsmmTarget: String { XSMMKernelSet.target }
}
