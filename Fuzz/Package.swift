// swift-tools-version: 6.1
//
// libFuzzer targets for the file readers that take files from the internet, built only by
// `make fuzz` (scripts/fuzz.sh) with `--sanitize=fuzzer --sanitize=address`. A separate package
// so that the main package's `swift build` / `swift test` never see these targets: an executable
// without `main` links only when libFuzzer supplies one.
//
//   FuzzCheckpoint  Checkpoint.parse (safetensors header, JSON, spans) and tensor access
//   FuzzIDX         IDX headers and Fashion-MNIST decoding from uncompressed IDX bytes
//   FuzzGzip        the gzip reader (zlib inflate plus its own checks), then IDX on the output
//
// Seed corpora: Fuzz/corpus/<target>/, written by scripts/make-fuzz-corpus.py.
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between clones and worktrees.
let mainPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "")

let package = Package(
    name: "PixelflyFuzz",
    dependencies: [.package(path: "..")],
    targets: ["FuzzCheckpoint", "FuzzIDX", "FuzzGzip"].map { name in
        .executableTarget(name: name, dependencies: [
            .product(name: "PixelflyData", package: mainPackage),
            .product(name: "PixelflyCore", package: mainPackage),
        ])
    }
)
