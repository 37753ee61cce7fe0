import Butterfly
import Foundation
import LowRank
import PixelflyCore
import Testing

/// `projectOntoMonarch`: exact on Monarch matrices, optimal in Frobenius norm, and the DFT at
/// n = m² (after the reshape-transpose of its input) is exactly Monarch.
@Suite("Monarch projection")
struct MonarchProjectionTests {
    static func frobeniusDistance(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
        zip(a.storage, b.storage).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }

    static func norm(_ a: Matrix<Double>) -> Double { a.storage.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// (a) A matrix that is Monarch comes back exactly, padded and rectangular shapes included.
    @Test func recoversMonarchMatricesExactly() throws {
        var rng = SeededRandom(seed: 21)
        for (inputs, outputs, nblocks) in MonarchLinearTests.cases() {
            let layer = try MonarchLinear<Double>(inputs, outputs, nblocks: nblocks, bias: false, rng: &rng)
            let m = layer.denseWeight()
            let projection = try projectOntoMonarch(m, nblocks: nblocks)
            let recovered = projection.shape.denseMatrix(first: projection.first, second: projection.second)
            let distance = Self.frobeniusDistance(recovered, m) / Self.norm(m)
            #expect(distance < 1e-12, "\(layer.shape): relative distance \(distance)")
            #expect(projection.relativeError < 1e-7, "\(layer.shape): reported relative error \(projection.relativeError)")
        }
    }

    /// (b) For random dense W, the projection's error is the true ‖W − M‖_F, and no random
    /// Monarch matrix (even optimally scaled) nor any perturbation of the optimum comes closer.
    @Test func projectionIsOptimal() throws {
        var rng = SeededRandom(seed: 22)
        for (inputs, outputs, nblocks) in MonarchLinearTests.cases() {
            let w = Matrix<Double>(rows: outputs, cols: inputs, initializer: .normal(mean: 0, standardDeviation: 1), rng: &rng)
            let projection = try projectOntoMonarch(w, nblocks: nblocks)
            let best = projection.shape.denseMatrix(first: projection.first, second: projection.second)
            let error = Self.frobeniusDistance(w, best)
            #expect(abs(error - projection.error) <= 1e-9 * Self.norm(w), "\(projection.shape): reported \(projection.error), actual \(error)")
            for _ in 0..<10 {
                let random = try MonarchLinear<Double>(inputs, outputs, nblocks: nblocks, bias: false, rng: &rng).denseWeight()
                // The best multiple c·M of a random Monarch M: c = ⟨W, M⟩ / ‖M‖².
                let c = zip(w.storage, random.storage).reduce(0) { $0 + $1.0 * $1.1 } / (Self.norm(random) * Self.norm(random))
                let scaled = random.map { $0 * c }
                #expect(error <= Self.frobeniusDistance(w, scaled), "\(projection.shape): a random Monarch matrix is closer")
                let step = 1e-3
                let first = Matrix<Double>(rows: projection.first.rows, cols: projection.first.cols, initializer: .normal(mean: 0, standardDeviation: step), rng: &rng)
                let second = Matrix<Double>(rows: projection.second.rows, cols: projection.second.cols, initializer: .normal(mean: 0, standardDeviation: step), rng: &rng)
                let perturbed = projection.shape.denseMatrix(
                    first: try Matrix(rows: first.rows, cols: first.cols, storage: zip(first.storage, projection.first.storage).map(+)),
                    second: try Matrix(rows: second.rows, cols: second.cols, storage: zip(second.storage, projection.second.storage).map(+)))
                #expect(error <= Self.frobeniusDistance(w, perturbed) + 1e-12, "\(projection.shape): a perturbed optimum is closer")
            }
        }
    }

    /// The Walsh–Hadamard matrix at n = m² is H_m ⊗ H_m: Monarch with rank-1 blocks and no
    /// permutation, so the real projection reproduces it exactly.
    @Test(arguments: [4, 8, 16])
    func hadamardIsMonarch(m: Int) throws {
        let n = m * m
        var h = Matrix<Double>(rows: n, cols: n)
        for i in 0..<n { for j in 0..<n { h[i, j] = (i & j).nonzeroBitCount % 2 == 0 ? 1 : -1 } }
        let projection = try projectOntoMonarch(h, nblocks: m)
        #expect(projection.relativeError < 1e-12)
        let recovered = projection.shape.denseMatrix(first: projection.first, second: projection.second)
        #expect(Self.frobeniusDistance(recovered, h) < 1e-10 * Self.norm(h))
    }

    /// (c) The DFT F_n, n = m², with its input reshape-transposed (column i of M is column
    /// m·(i mod m) + ⌊i/m⌋ of F) is Monarch with m blocks: every block (λ, κ) has complex rank
    /// 1 (`MonarchDFT`'s derivation: ω^{jk} = ω_n^{k₁j₂}·ω_m^{k₁j₁}·ω_m^{j₂k₂}). The projection is
    /// per-block truncated SVD; a complex block has complex rank c iff its real form
    /// [[Re, −Im], [Im, Re]] has rank 2c (each singular value appears twice), so the complex
    /// projection error is √(Σ discarded energy of the real forms / 2). It is zero; without the
    /// input permutation it is not.
    @Test(arguments: [4, 8, 16])
    func permutedDFTProjectsWithZeroError(m: Int) throws {
        let n = m * m
        let shape = try MonarchShape(inputFeatures: n, outputFeatures: n, nblocks: m)
        func projectionError(permuted: Bool) throws -> Double {
            var re = Matrix<Double>(rows: n, cols: n), im = re
            for o in 0..<n {
                for i in 0..<n {
                    let j = permuted ? m * (i % m) + i / m : i
                    let angle = -2 * Double.pi * Double((o * j) % n) / Double(n)
                    (re[o, i], im[o, i]) = (cos(angle), sin(angle))
                }
            }
            var discarded = 0.0
            for λ in 0..<m {
                for κ in 0..<m {
                    let (a, b) = (shape.block(of: re, outputBlock: λ, inputBlock: κ), shape.block(of: im, outputBlock: λ, inputBlock: κ))
                    var real = Matrix<Double>(rows: 2 * a.rows, cols: 2 * a.cols)
                    for r in 0..<a.rows {
                        for c in 0..<a.cols {
                            (real[r, c], real[r, a.cols + c]) = (a[r, c], -b[r, c])
                            (real[a.rows + r, c], real[a.rows + r, a.cols + c]) = (b[r, c], a[r, c])
                        }
                    }
                    let rank = shape.edges(outputBlock: λ, inputBlock: κ).count
                    #expect(rank == 1)
                    discarded += try bestRankApproximation(real, rank: 2 * rank).discardedEnergy / 2
                }
            }
            return discarded.squareRoot() / Double(n)  // ‖F‖_F = n
        }
        let exact = try projectionError(permuted: true)
        #expect(exact < 1e-12, "n = \(n): relative projection error \(exact)")
        let unpermuted = try projectionError(permuted: false)
        #expect(unpermuted > 0.1, "n = \(n): the unpermuted DFT should not be Monarch (relative error \(unpermuted))")
    }

    @Test func invalidBlockCountThrows() {
        #expect(throws: ShapeError.self) { try projectOntoMonarch(Matrix<Double>(rows: 4, cols: 6), nblocks: 5) }
    }
}
