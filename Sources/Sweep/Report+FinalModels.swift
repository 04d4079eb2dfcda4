import Foundation

// The report's section on the final phase's models: test accuracy per class and the confusion matrix.
extension SweepReport {
    func finalModels(_ sweep: Sweep) -> String {
        let finals = sweep.board.rows.filter { $0.testAccuracy != nil }
        guard !finals.isEmpty else { return "" }
        var html = "<h3>Final models</h3><p>Retrained on the final train split and scored on its eval split; "
        html += "rows of each matrix are the true classes, columns the predicted ones.</p>"
        for record in finals {
            html += "<h4>\(escape(record.id)) (\(escape(record.method)))</h4><p>test accuracy "
            html += String(format: "%.4f", record.testAccuracy!)
            if let file = record.modelFile { html += "; model file <code>\(escape(file))</code>" }
            html += ".</p>"
            guard let matrix = record.confusion, !matrix.isEmpty else {
                html += "<p>(No confusion matrix: the final phase ran before hpsweep recorded one.)</p>"; continue
            }
            let classes = matrix.count
            func name(_ c: Int) -> String { escape(record.classNames?[c] ?? String(c)) }
            html +=
                "<table><thead><tr><th>true \\ predicted</th>" + (0..<classes).map { "<th>\(name($0))</th>" }.joined()
                + "<th>examples</th><th>accuracy</th></tr></thead><tbody>"
            for (c, row) in matrix.enumerated() {
                let examples = row.reduce(0, +)
                let accuracy = examples == 0 ? "–" : String(format: "%.3f", Double(row[c]) / Double(examples))
                html +=
                    "<tr><th>\(name(c))</th>"
                    + row.enumerated().map { p, n in
                        p == c ? "<td><b>\(n)</b></td>" : "<td>\(n == 0 ? "" : String(n))</td>"
                    }.joined() + "<td>\(examples)</td><td>\(accuracy)</td></tr>"
            }
            html += "</tbody></table>"
        }
        return html
    }
}
