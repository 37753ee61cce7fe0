# Two commands on a fresh machine:
#   make bench   — installs what is missing, builds in release, runs the bench's default job
#   make test    — installs what is missing, builds and runs the whole test suite
#
# `setup` installs the Debian packages the package links against and the data the bench reads.

DEB_PACKAGES := libopenblas-dev libfftw3-dev zlib1g-dev dataset-fashion-mnist fortunes-min pkg-config libxsmm-dev
SWIFT ?= swift
BENCH_ARGS ?=

.PHONY: setup build test bench clean

setup:
	@./scripts/setup-system-packages.sh $(DEB_PACKAGES)

build: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

bench: setup
	$(SWIFT) run -c release pixelfly-bench $(BENCH_ARGS)

clean:
	rm -rf .build results
