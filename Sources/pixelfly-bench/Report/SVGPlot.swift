/// A minimal line/scatter plot written as standalone SVG (no dependencies), for the results
/// folder: e.g. test accuracy against wall-clock time, or speedup against density.
struct SVGPlot {
    struct Series {
        var label: String
        var points: [(x: Double, y: Double)]
        var color: String
        /// Whether a line joins the points (false: a scatter of markers).
        var connected = true
        /// Optional text next to each point (e.g. a configuration's name).
        var labels: [String]? = nil
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series] = []
    /// Optional horizontal reference line (e.g. speedup 1).
    var referenceY: Double?

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    init(title: String, xLabel: String, yLabel: String, referenceY: Double? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.referenceY = referenceY
    }

    mutating func add(_ label: String, _ points: [(x: Double, y: Double)], connected: Bool = true, labels: [String]? = nil) {
        series.append(Series(label: label, points: points, color: Self.palette[series.count % Self.palette.count],
                             connected: connected, labels: labels))
    }

    var svg: String {
        let width = 640.0, height = 420.0
        let left = 70.0, right = 160.0, top = 40.0, bottom = 55.0
        let all = series.flatMap(\.points) + (referenceY.map { [(x: series.first?.points.first?.x ?? 0, y: $0)] } ?? [])
        var (xMin, xMax) = (all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1)
        var (yMin, yMax) = (all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1)
        if xMax == xMin { xMax = xMin + 1 }
        if yMax == yMin { yMax = yMin + 1 }
        let yPad = (yMax - yMin) * 0.05
        yMin -= yPad; yMax += yPad
        xMin = min(xMin, 0) == 0 && xMin >= 0 ? 0 : xMin
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotH }

        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15">\(escape(title))</text>
        <rect x="\(left)" y="\(top)" width="\(plotW)" height="\(plotH)" fill="none" stroke="#444"/>

        """
        for i in 0...5 {
            let fx = xMin + (xMax - xMin) * Double(i) / 5, fy = yMin + (yMax - yMin) * Double(i) / 5
            out += "<line x1=\"\(px(fx))\" y1=\"\(top)\" x2=\"\(px(fx))\" y2=\"\(top + plotH)\" stroke=\"#eee\"/>\n"
            out += "<line x1=\"\(left)\" y1=\"\(py(fy))\" x2=\"\(left + plotW)\" y2=\"\(py(fy))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(px(fx))\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\">\(tick(fx))</text>\n"
            out += "<text x=\"\(left - 6)\" y=\"\(py(fy) + 4)\" text-anchor=\"end\">\(tick(fy))</text>\n"
        }
        out += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(18 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        if let referenceY, referenceY >= yMin, referenceY <= yMax {
            out += "<line x1=\"\(left)\" y1=\"\(py(referenceY))\" x2=\"\(left + plotW)\" y2=\"\(py(referenceY))\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n"
        }
        for (index, s) in series.enumerated() {
            let path = s.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            if s.connected {
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
            }
            for (i, p) in s.points.enumerated() {
                out += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"\(s.connected ? 3 : 4)\" fill=\"\(s.color)\"/>\n"
                if let labels = s.labels, i < labels.count {
                    out += "<text x=\"\(px(p.x) + 6)\" y=\"\(py(p.y) - 5)\" font-size=\"10\" fill=\"\(s.color)\">\(escape(labels[i]))</text>\n"
                }
            }
            let ly = top + 14 + Double(index) * 18
            out += "<line x1=\"\(left + plotW + 12)\" y1=\"\(ly - 4)\" x2=\"\(left + plotW + 32)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(left + plotW + 38)\" y=\"\(ly)\">\(escape(s.label))</text>\n"
        }
        return out + "</svg>\n"
    }

    private func tick(_ v: Double) -> String {
        let magnitude = abs(v)
        return format(v, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3)
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
