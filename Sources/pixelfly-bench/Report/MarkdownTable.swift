/// A table printed both as aligned text for the terminal and as Markdown for the results folder.
struct Table {
    var columns: [String]
    var rows: [[String]] = []

    init(_ columns: [String]) { self.columns = columns }

    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "table row has \(row.count) cells, header has \(columns.count)")
        rows.append(row)
    }

    /// Columns padded to a common width, for the terminal.
    var text: String {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(columns), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
            + rows.map(line)).joined(separator: "\n")
    }

    /// GitHub-flavoured Markdown.
    var markdown: String {
        (["| " + columns.joined(separator: " | ") + " |",
          "|" + columns.map { _ in " --- " }.joined(separator: "|") + "|"]
            + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
    }
}
