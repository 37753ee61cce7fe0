import Butterfly

/// Text and SVG pictures of a flat butterfly block layout.
enum MaskPicture {
    /// One character per block: `#` kept, `.` zero; a space between super-block columns and a
    /// blank line between super-block rows when the layout is unshuffled and aligned to them.
    static func text(_ mask: FlatButterflyMask) -> String {
        var lines: [String] = []
        for r in 0..<mask.blockRows {
            lines.append(String((0..<mask.blockColumns).map { mask.blockIsSet(r, $0) ? "#" : "." }))
        }
        return lines.joined(separator: "\n")
    }

    /// An SVG with one square per kept block (black) on a light grid, grid-cell borders in red
    /// (the stretched B×B tiles) and the global band in blue.
    static func svg(_ mask: FlatButterflyMask, cell: Int = 8) -> String {
        let width = mask.blockColumns * cell
        let height = mask.blockRows * cell
        let b = mask.configuration.blockSize
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + 2)\" height=\"\(height + 2)\" viewBox=\"-1 -1 \(width + 2) \(height + 2)\">",
            "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#f4f4f4\"/>",
        ]
        let g = mask.configuration.globalSize
        for r in 0..<mask.blockRows {
            for c in 0..<mask.blockColumns where mask.blockIsSet(r, c) {
                let global = r * b < g || c * b < g
                parts.append("<rect x=\"\(c * cell)\" y=\"\(r * cell)\" width=\"\(cell - 1)\" height=\"\(cell - 1)\" fill=\"\(global ? "#3060c0" : "#202020")\"/>")
            }
        }
        let bSize = mask.configuration.butterflySize
        for i in 0...bSize {
            let y = Double(i * mask.tileRows) / Double(b) * Double(cell)
            let x = Double(i * mask.tileColumns) / Double(b) * Double(cell)
            parts.append("<line x1=\"0\" y1=\"\(y)\" x2=\"\(width)\" y2=\"\(y)\" stroke=\"#d04040\" stroke-width=\"0.5\"/>")
            parts.append("<line x1=\"\(x)\" y1=\"0\" x2=\"\(x)\" y2=\"\(height)\" stroke=\"#d04040\" stroke-width=\"0.5\"/>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}
