// swift-tools-version: 6.1
//
// Module graph (acyclic; arrows point at dependencies):
//
//   pixelfly-bench ──► Distributed ──► CMPI
//         │                 │
//         │                 ▼
//         ├──────────► PixelflyTraining ──► PixelflyData ──► CZlib
//         │                 │  (and ──► CVectorKernels: AdamW)
//         │                 ▼                    ▼
//         ├──────────► PixelflyModels ──► Butterfly ──► LowRank ──► PixelflyCore ──► COpenBLAS
//         │                 │                 ├──► CLibXSMM              ▲
//         │                 └──► CVectorKernels ◄──┘                     │
//         └──► FFTWOracle ──► CFFTW          FFTWOracle ─────────────────┘
//   (and PixelflyCore ──► CVectorKernels: the spin-wait hint of the compute threads' pool)
//
// PixelflyCore: matrices, BLAS/LAPACK products, seeded initialisers, the layer protocol, the
//               compute threads and the one rule by which kernels split work over them.
// FFTWOracle:   thread-safe FFTW plans, used by tests and the bench as the ground truth.
// LowRank:      low-rank factors and layers, truncated-SVD projections.
// Butterfly:    butterfly factors and transforms, flat block butterfly masks, block-sparse
//               kernels (LIBXSMM through CLibXSMM, OpenBLAS fallback), the Pixelfly linear layer.
// CVectorKernels: element-wise Float kernels (GELU, LayerNorm, column sums, AdamW) and the 24-row
//               block-sparse strip kernel (`pixelfly_strip24_f32`) in C with AVX2+FMA
//               (GELU, LayerNorm and AdamW also AVX-512F) bodies chosen at run time, and the spin-wait hint (Swift code is built for baseline x86-64;
//               the package passes no unsafe flags).
// PixelflyModels: blocks (MLP, attention, norms), ViT / Mixer / GPT, GPT decoding with a
//               key/value cache. No file I/O.
// PixelflyData: what the library reads and writes: Fashion-MNIST (IDX, gzip), text corpora,
//               batch samplers, safetensors checkpoint files. Depends on no model code, so the
//               fuzz targets (Fuzz/) link only this and PixelflyCore.
// PixelflyTraining: loss, AdamW, schedules, the `Trainer` and training runs, training
//               checkpoints, dense-to-sparse conversion, export / evaluation of a trained
//               checkpoint, seed statistics. Data-parallel training is a protocol here
//               (`DataParallelCommunicator`), so it and everything under it never link MPI.
// Distributed:  the MPI implementation of that protocol (bucketed MPI_Iallreduce overlapping
//               the backward pass) and MPI start-up; only the bench (and programs that want
//               multi-process training) depend on it, and through it on libmpi.
//
// Platforms: Linux (x86-64, glibc) is the only supported and tested platform; the system
// libraries come from Debian packages through pkg-config. SwiftPM cannot declare Linux in
// `platforms`, so the list below only sets the macOS minimum the code would need (macOS 15, for
// the `Synchronization` module's `Atomic` and `Mutex`); PixelflyCore/Platform.swift stops any
// non-Linux build with a message saying so (README "Platforms").
import PackageDescription

let package = Package(
    name: "Pixelfly",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PixelflyCore", targets: ["PixelflyCore"]),
        .library(name: "LowRank", targets: ["LowRank"]),
        .library(name: "Butterfly", targets: ["Butterfly"]),
        .library(name: "PixelflyModels", targets: ["PixelflyModels"]),
        .library(name: "PixelflyData", targets: ["PixelflyData"]),
        .library(name: "PixelflyTraining", targets: ["PixelflyTraining"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "FFTWOracle", targets: ["FFTWOracle"]),
        .executable(name: "pixelfly-bench", targets: ["pixelfly-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (make docs); no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CFFTW",
            pkgConfig: "fftw3f",
            providers: [.apt(["libfftw3-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .systemLibrary(
            name: "CLibXSMM",
            pkgConfig: "libxsmm",
            providers: [.apt(["libxsmm-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "PixelflyCore",
            dependencies: [
                "COpenBLAS",
                "CVectorKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .target(name: "FFTWOracle", dependencies: ["CFFTW", "PixelflyCore"]),
        .target(name: "LowRank", dependencies: ["PixelflyCore"]),
        .target(name: "Butterfly", dependencies: ["PixelflyCore", "LowRank", "CLibXSMM", "CVectorKernels"]),
        .target(name: "CVectorKernels", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "PixelflyModels", dependencies: ["PixelflyCore", "LowRank", "Butterfly", "CLibXSMM", "CVectorKernels"]),
        .target(name: "PixelflyData", dependencies: ["PixelflyCore", "CZlib"]),
        .target(
            name: "PixelflyTraining",
            dependencies: ["PixelflyCore", "LowRank", "Butterfly", "PixelflyModels", "PixelflyData", "CVectorKernels"]
        ),
        .target(name: "Distributed", dependencies: ["PixelflyTraining", "PixelflyModels", "PixelflyCore", "CMPI"]),
        .executableTarget(
            name: "pixelfly-bench",
            dependencies: [
                "PixelflyCore", "FFTWOracle", "LowRank", "Butterfly", "PixelflyModels", "PixelflyData",
                "PixelflyTraining", "Distributed", "CVectorKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only: counts heap allocations by interposing malloc in the test binary.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        // The tests import the bench executable too (`@testable import pixelfly_bench`) for its
        // report logic, and run its binary for the end-to-end and data-parallel tests.
        .testTarget(
            name: "ButterflyTests",
            dependencies: [
                "PixelflyCore", "FFTWOracle", "LowRank", "Butterfly", "PixelflyModels", "PixelflyData",
                "PixelflyTraining", "AllocationCounter", "CVectorKernels", "pixelfly-bench",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
    ]
)
