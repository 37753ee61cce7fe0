// swift-tools-version: 6.1
//
// Module graph (acyclic; arrows point at dependencies):
//
//   pixelfly-bench ──► Distributed ──► CMPI
//         │                 │
//         │                 ▼
//         ├──────────► Models ──► Butterfly ──► LowRank ──► PixelflyCore ──► COpenBLAS
//         │                │          └──► CLibXSMM             ▲
//         │                ├──► CZlib                           │
//         │                └──► CVectorKernels                  │
//         └──► FFTWOracle ──► CFFTW          FFTWOracle ────────┘
//
// PixelflyCore: matrices, BLAS/LAPACK products, seeded initialisers, the layer protocol.
// FFTWOracle:   thread-safe FFTW plans, used by tests and the bench as the ground truth.
// LowRank:      low-rank factors and layers, truncated-SVD projections.
// Butterfly:    butterfly factors and transforms, flat block butterfly masks, block-sparse
//               kernels (LIBXSMM through CLibXSMM, OpenBLAS fallback), the Pixelfly linear layer.
// CVectorKernels: element-wise Float kernels in C with an AVX2+FMA body chosen at run time
//               (Swift code is built for baseline x86-64; the package passes no unsafe flags).
// Models:       blocks (MLP, attention, norms), ViT / Mixer / GPT, training, data, checkpoints.
//               Data-parallel training is a protocol here (`DataParallelCommunicator`), so
//               Models and everything under it never link MPI.
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
        .library(name: "Models", targets: ["Models"]),
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
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        .target(name: "FFTWOracle", dependencies: ["CFFTW", "PixelflyCore"]),
        .target(name: "LowRank", dependencies: ["PixelflyCore"]),
        .target(name: "Butterfly", dependencies: ["PixelflyCore", "LowRank", "CLibXSMM"]),
        .target(name: "CVectorKernels", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "Models", dependencies: ["PixelflyCore", "LowRank", "Butterfly", "CZlib", "CVectorKernels"]),
        .target(name: "Distributed", dependencies: ["Models", "PixelflyCore", "CMPI"]),
        .executableTarget(
            name: "pixelfly-bench",
            dependencies: [
                "PixelflyCore", "FFTWOracle", "LowRank", "Butterfly", "Models", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only: counts heap allocations by interposing malloc in the test binary.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(
            name: "ButterflyTests",
            dependencies: [
                "PixelflyCore", "FFTWOracle", "LowRank", "Butterfly", "Models", "AllocationCounter",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
    ]
)
