import PixelflyCore

/// The Pareto front of points with a cost to minimise (e.g. step time) and a quality to
/// maximise (e.g. accuracy; pass −loss for a loss): point i is on the front iff no other point
/// has cost ≤ cᵢ and quality ≥ qᵢ with at least one of the two strictly better. Exact ties are
/// all kept.
public enum ParetoFront {
    /// Indices of the non-dominated points, in increasing cost (ties: decreasing quality).
    public static func indices(costs: [Double], qualities: [Double]) throws -> [Int] {
        guard costs.count == qualities.count else {
            throw ShapeError("ParetoFront.indices", "needs one quality per cost; got \(costs.count) costs and \(qualities.count) qualities")
        }
        let front = costs.indices.filter { i in
            !costs.indices.contains { j in
                costs[j] <= costs[i] && qualities[j] >= qualities[i] && (costs[j] < costs[i] || qualities[j] > qualities[i])
            }
        }
        return front.sorted { costs[$0] != costs[$1] ? costs[$0] < costs[$1] : qualities[$0] > qualities[$1] }
    }
}
