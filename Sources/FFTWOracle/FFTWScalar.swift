import CFFTW
import PixelflyCore

/// The FFTW entry points for one precision: `fftwf_*` for Float, `fftw_*` for Double.
///
/// Complex data is interleaved (re, im) in a buffer of `2n` scalars, which is FFTW's layout.
public protocol FFTWScalar: TensorScalar {
    static func allocate(_ count: Int) -> UnsafeMutablePointer<Self>
    static func release(_ pointer: UnsafeMutablePointer<Self>)
    /// `howMany` complex DFTs of length n, contiguous; sign −1 forward, +1 backward.
    static func planDFT(n: Int, howMany: Int, input: UnsafeMutablePointer<Self>,
                        output: UnsafeMutablePointer<Self>, sign: Int32, flags: UInt32) -> OpaquePointer?
    /// `howMany` real-to-real transforms of the given FFTW kind (e.g. REDFT10), contiguous.
    static func planR2R(n: Int, howMany: Int, input: UnsafeMutablePointer<Self>,
                        output: UnsafeMutablePointer<Self>, kind: fftw_r2r_kind, flags: UInt32) -> OpaquePointer?
    static func execute(_ plan: OpaquePointer)
    static func destroy(_ plan: OpaquePointer)
}

extension Float: FFTWScalar {
    public static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        fftwf_alloc_real(max(count, 1))!
    }
    public static func release(_ pointer: UnsafeMutablePointer<Float>) { fftwf_free(pointer) }

    public static func planDFT(n: Int, howMany: Int, input: UnsafeMutablePointer<Float>,
                               output: UnsafeMutablePointer<Float>, sign: Int32, flags: UInt32) -> OpaquePointer? {
        var length = Int32(n)
        return input.withMemoryRebound(to: fftwf_complex.self, capacity: n * howMany) { i in
            output.withMemoryRebound(to: fftwf_complex.self, capacity: n * howMany) { o in
                fftwf_plan_many_dft(1, &length, Int32(howMany), i, nil, 1, Int32(n), o, nil, 1, Int32(n), sign, flags)
            }
        }
    }

    public static func planR2R(n: Int, howMany: Int, input: UnsafeMutablePointer<Float>,
                               output: UnsafeMutablePointer<Float>, kind: fftw_r2r_kind, flags: UInt32) -> OpaquePointer? {
        var length = Int32(n)
        var kinds = kind
        return fftwf_plan_many_r2r(1, &length, Int32(howMany), input, nil, 1, Int32(n), output, nil, 1, Int32(n), &kinds, flags)
    }

    public static func execute(_ plan: OpaquePointer) { fftwf_execute(plan) }
    public static func destroy(_ plan: OpaquePointer) { fftwf_destroy_plan(plan) }
}

extension Double: FFTWScalar {
    public static func allocate(_ count: Int) -> UnsafeMutablePointer<Double> {
        fftw_alloc_real(max(count, 1))!
    }
    public static func release(_ pointer: UnsafeMutablePointer<Double>) { fftw_free(pointer) }

    public static func planDFT(n: Int, howMany: Int, input: UnsafeMutablePointer<Double>,
                               output: UnsafeMutablePointer<Double>, sign: Int32, flags: UInt32) -> OpaquePointer? {
        var length = Int32(n)
        return input.withMemoryRebound(to: fftw_complex.self, capacity: n * howMany) { i in
            output.withMemoryRebound(to: fftw_complex.self, capacity: n * howMany) { o in
                fftw_plan_many_dft(1, &length, Int32(howMany), i, nil, 1, Int32(n), o, nil, 1, Int32(n), sign, flags)
            }
        }
    }

    public static func planR2R(n: Int, howMany: Int, input: UnsafeMutablePointer<Double>,
                               output: UnsafeMutablePointer<Double>, kind: fftw_r2r_kind, flags: UInt32) -> OpaquePointer? {
        var length = Int32(n)
        var kinds = kind
        return fftw_plan_many_r2r(1, &length, Int32(howMany), input, nil, 1, Int32(n), output, nil, 1, Int32(n), &kinds, flags)
    }

    public static func execute(_ plan: OpaquePointer) { fftw_execute(plan) }
    public static func destroy(_ plan: OpaquePointer) { fftw_destroy_plan(plan) }
}
