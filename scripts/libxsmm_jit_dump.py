"""LIBXSMM's JIT kernels by address, for the perf scripts beside this file.

LIBXSMM's generated code has no symbols. With LIBXSMM_VERBOSE=-1 it prints the address of each
kernel it generates to stderr ("LIBXSMM-JIT-DUMP(ptr:file) 0x… :
libxsmm_cpx_f32_nn_96x64x48_96_768_3072_a1_b0_p0_br2_….mxm", i.e. m × n × k, lda, ldb, ldc,
α, β, batch-reduce); a sampled instruction is taken to belong to the kernel whose code starts
at most 8 KB below it.
"""
import bisect
import re


class JITKernels:
    """The kernels of one LIBXSMM stderr log, looked up by instruction address."""

    def __init__(self, log_path, short_names=False):
        kernels = []
        for line in open(log_path, errors="replace"):
            match = re.match(r"LIBXSMM-JIT-DUMP\(ptr:file\) (0x[0-9a-f]+) : (\S+)", line)
            if match:
                name = match.group(2)
                if short_names:
                    name = re.sub(r"^libxsmm_[a-z0-9]+_f(32|64)_|_a1|_p0|_uh0_si0\.mxm$", "", name)
                kernels.append((int(match.group(1), 16), name))
        kernels.sort()
        self.kernels = kernels
        self.starts = [address for address, _ in kernels]

    def name_at(self, address):
        """The kernel containing `address`, or None outside every kernel."""
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address - self.starts[index] < 0x2000:
            return self.kernels[index][1]
        return None
