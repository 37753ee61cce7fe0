// LowRank: low-rank factors and layers on top of PixelflyCore.
//
// - `LowRankLinear`: y = x·Vᵀ·Uᵀ (+ b), a `LinearLayer` with explicit backward.
// - `SingularValueDecomposition`: thin SVD through LAPACK ?gesdd in OpenBLAS.
// - `bestRankApproximation`: Eckart–Young truncation into balanced factors (√σ on each side).
// - `projectOntoSparsePlusLowRank`: W ≈ S + L with S on a fixed support and L of rank r, by
//   alternating projections, so a trained dense layer can be converted.
import PixelflyCore
