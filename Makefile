# Two commands on a fresh machine:
#   make bench   — installs what is missing, builds in release, runs the bench's default job
#   make reproduce — the paper's claims on GPT, ViT and Mixer, three seeds, a density sweep
#                  (notebooks-md/reproduce.md; REPRODUCE_ARGS=--quick for the shortened run)
#   make test    — installs what is missing, builds, runs the whole test suite, then the
#                  kernel-dependent suites once per OpenBLAS kernel family the CPU can run
#                  (on a second, optimised test build: see OPTIMIZED_TESTS)
#   make bench-families — the default job and the layer rows once per AVX2 / AVX-512 OpenBLAS
#                  kernel family the CPU can run (results/families/; FAMILIES=… to choose)
#   make docs    — builds the DocC documentation (getting started, one page per layer kind)
#   make fuzz    — builds the libFuzzer targets in Fuzz/ (with AddressSanitizer) and runs each
#                  for FUZZ_SECONDS (default 60) from the committed seed corpus Fuzz/corpus/
#
# `setup` installs the Debian packages the package links against and the data the bench reads.

DEB_PACKAGES := libopenblas-dev libfftw3-dev zlib1g-dev dataset-fashion-mnist fortunes-min fortunes pkg-config libopenmpi-dev openmpi-bin libxsmm-dev
SWIFT ?= swift
BENCH_ARGS ?=
REPRODUCE_ARGS ?=

.PHONY: setup build test bench bench-families reproduce docs fuzz fuzz-corpus clean

setup:
	@./scripts/setup-system-packages.sh $(DEB_PACKAGES)

build: setup
	$(SWIFT) build -c release

# The per-family runs repeat the kernel-dependent suites up to nine times (an AVX-512 CPU). They use a
# second test build, compiled as a user's release build compiles the library (Swift -O, C -O2)
# but still with @testable access: it runs those suites 3.5x faster than the debug build (170 s
# against 591 s on a 2-vCPU Xeon), and it checks the optimised code users train with. The
# whole-suite run above it stays on the plain debug build that `swift test` makes.
OPTIMIZED_TESTS_PATH := .build/optimized-tests
OPTIMIZED_TESTS := --scratch-path $(OPTIMIZED_TESTS_PATH) -Xswiftc -O -Xcc -O2

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) build --build-tests $(OPTIMIZED_TESTS)
	./scripts/test-kernel-families.sh --scratch-path $(OPTIMIZED_TESTS_PATH)

# The bench times on the fastest OpenBLAS kernels the CPU runs: an inherited OPENBLAS_CORETYPE
# (some shells export one) is dropped so that the bench chooses; BENCH_CORETYPE=… pins a family.
bench: setup
	$(if $(BENCH_CORETYPE),OPENBLAS_CORETYPE=$(BENCH_CORETYPE),env -u OPENBLAS_CORETYPE) \
		$(SWIFT) run -c release pixelfly-bench $(BENCH_ARGS)

# The speed targets under each kernel family the CPU runs, each run in its own process.
bench-families: setup
	$(SWIFT) build -c release --product pixelfly-bench
	./scripts/speed-kernel-families.sh $(FAMILIES)

# `pixelfly-bench reproduce` (writes results/reproduce/), on the same kernel-family rule as bench.
reproduce: setup
	$(if $(BENCH_CORETYPE),OPENBLAS_CORETYPE=$(BENCH_CORETYPE),env -u OPENBLAS_CORETYPE) \
		$(SWIFT) run -c release pixelfly-bench reproduce $(REPRODUCE_ARGS)

# DocC archives for every target (.build/plugins/Swift-DocC/outputs/*.doccarchive); the library's
# articles are in Sources/Butterfly/Butterfly.docc. Any documentation warning fails the target.
docs: setup
	$(SWIFT) package generate-documentation --warnings-as-errors

fuzz: setup
	SWIFT=$(SWIFT) ./scripts/fuzz.sh

# Rewrites the seed corpus (deterministic; commit the result).
fuzz-corpus:
	./scripts/make-fuzz-corpus.py

clean:
	rm -rf .build Fuzz/.build results
