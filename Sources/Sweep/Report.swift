import Essentials
import Foundation

/// A self-contained HTML report of one or several sweeps (`hpsweep report`): inline SVG charts, no
/// scripts or external assets, so it opens offline and prints.
public struct SweepReport {
    public struct Sweep {
        public let directory: String
        public let name: String
        public let state: SweepState
        public let board: Leaderboard
        /// The sweep file's text, when it can still be found.
        public let specText: String?
    }

    public let sweeps: [Sweep]
    /// Every file the report reads: the sweeps' journals and, where found, their sweep files.
    public let inputs: [String]

    /// Loads the sweeps of these results directories (each must hold a journal).
    public init(directories: [String], catalogue: SearchCatalogue) throws {
        var inputs: [String] = []
        sweeps = try directories.map { directory in
            let path = SweepRunner.journalPath(directory)
            guard !Journal.files(in: directory).isEmpty else {
                throw CompareError(path: directory, message: "not a sweep results directory (no journal.jsonl)")
            }
            let state = SweepState(try Journal.readAll(directory: directory))
            if let problem = state.headerProblem { throw CompareError(path: path, message: problem) }
            let specFile = state.specFile
            let candidates =
                specFile.map {
                    [
                        $0,
                        (((directory as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
                            as NSString).appendingPathComponent($0),
                    ]
                } ?? []
            inputs += Journal.files(in: directory) + candidates
            let specText = candidates.lazy.compactMap {
                contentsOfRegularFile($0).map { String(decoding: $0, as: UTF8.self) }
            }.first
            return Sweep(
                directory: directory, name: state.sweepName ?? (directory as NSString).lastPathComponent, state: state,
                board: Leaderboard(state: state, objectives: state.objectives, catalogue: catalogue), specText: specText
            )
        }
        self.inputs = inputs
    }

    static func label(_ r: TrialRecord) -> String {
        let settings = r.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let accuracy = r.result.map { String(format: "val_acc %.4f", $0.bestValAccuracy) } ?? ""
        return "\(r.id) \(r.method) \(r.status.rawValue) \(accuracy) \(settings)"
    }

    /// `front`: join the trials of these two axes' Pareto front (a sweep of one objective has no front).
    func scatter(
        _ sweep: Sweep, title: String, x metric: SearchSpec.Metric, xLabel: String, log: Bool, front withFront: Bool
    ) -> SVGChart {
        var chart = SVGChart(title: title, xLabel: xLabel, yLabel: "val_acc", xScale: log ? .log : .linear)
        let finished = sweep.state.records.filter { $0.status == .finished }
        for method in Set(finished.map(\.method)).sorted() {
            chart.series.append(
                .init(
                    name: method, color: sweep.board.catalogue.color(of: method),
                    points: finished.filter { $0.method == method }.compactMap { r in
                        guard let x = metricValue(r, metric), let y = metricValue(r, .valAccuracy) else { return nil }
                        return (x, y, Self.label(r))
                    }))
        }
        guard withFront else { return chart }
        // The front of these two axes (maximise accuracy, minimise x), joined as a staircase of points.
        let points = finished.compactMap { r -> (TrialRecord, [Double])? in
            guard let x = metricValue(r, metric), let y = metricValue(r, .valAccuracy) else { return nil }
            return (r, [x, -y])
        }
        let ranks = paretoRanks(points.map(\.1))
        let front = zip(points, ranks).filter { $0.1 == 1 }.map {
            ($0.0.1[0], -$0.0.1[1], "front: " + Self.label($0.0.0))
        }
        chart.series.append(
            .init(name: "Pareto front", color: "#000000", points: front, line: true, emphasised: true, staircase: true))
        return chart
    }

    /// Accuracy against one hyperparameter for one method (finished and pruned trials).
    func sensitivity(_ sweep: Sweep, method: String, parameter: String) -> SVGChart? {
        let records = sweep.state.records.filter {
            $0.method == method && $0.result != nil && ($0.status == .finished || $0.status == .pruned)
        }
        let values = Set(records.compactMap { $0.values[parameter]?.number })
        guard values.count > 1 else { return nil }
        let logScale =
            parameter == "lr" || parameter == "weight_decay"
            || (values.min()! > 0 && values.max()! / values.min()! >= 8)
        var chart = SVGChart(
            title: "\(method): val_acc vs \(parameter)", xLabel: parameter, yLabel: "val_acc",
            xScale: logScale ? .log : .linear)
        for (status, color, name) in [
            (TrialRecord.Status.finished, sweep.board.catalogue.color(of: method), "finished"),
            (.pruned, "#bbbbbb", "pruned (at its rung)"),
        ] {
            let points = records.filter { $0.status == status }.compactMap { r -> (Double, Double, String)? in
                guard let x = r.values[parameter]?.number, let y = metricValue(r, .valAccuracy) else { return nil }
                return (x, y, Self.label(r))
            }
            if !points.isEmpty { chart.series.append(.init(name: name, color: color, points: points)) }
        }
        return chart
    }

    func curves(_ sweep: Sweep, top: Int = 5) -> SVGChart {
        let primary = sweep.board.objectives[0]
        let best = sweep.board.rows.filter { $0.status == .finished }
            .sorted { (objectiveVector($0, [primary])[0], $0.id) < (objectiveVector($1, [primary])[0], $1.id) }.prefix(
                top)
        let title =
            best.count == 1
            ? "Learning curve of the one finished trial"
            : "Learning curves of the \(best.count) best finished trials by \(primary.name)"
        var chart = SVGChart(title: title, xLabel: "epoch", yLabel: "val_acc")
        for (i, r) in best.enumerated() {
            let points = r.curve.compactMap { e in
                e.valAccuracy.map { (Double(e.epoch), Double($0), "\(r.id) epoch \(e.epoch): \($0)") }
            }
            chart.series.append(
                .init(
                    name: "\(r.id) (\(r.method))", color: SVGChart.palette[i % SVGChart.palette.count], points: points,
                    line: true))
        }
        return chart
    }

    func table(_ sweep: Sweep, limit: Int? = nil) -> String {
        let board = sweep.board
        let varying = board.catalogue.names.filter { name in Set(board.rows.compactMap { $0.values[name] }).count > 1 }
        let columns =
            ["trial", "method", "status", "epochs_run"] + varying + [
                "val_acc", "params", "train_seconds", "test_acc", "pareto_rank",
            ]
        var html = "<table><thead><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for r in board.rows.prefix(limit ?? board.rows.count) {
            let front = board.paretoRank[r.id] == 1 ? " class=\"front\"" : ""
            html +=
                "<tr\(front)>"
                + columns.map { column -> String in
                    var cell = board.cell(r, column)
                    if let x = Double(cell), varying.contains(column) { cell = format(x) }
                    return "<td>\(escape(cell))</td>"
                }.joined() + "</tr>"
        }
        return html + "</tbody></table>"
    }

    func summary(_ sweep: Sweep) -> String {
        let counts = Dictionary(grouping: sweep.board.rows, by: \.status.rawValue).mapValues(\.count)
        let objectives = sweep.state.objectives.map { "\($0.name) (\($0.direction == .maximize ? "max" : "min"))" }
            .joined(separator: ", ")
        var html =
            "<p><b>\(sweep.board.rows.count)</b> of \(sweep.state.trialsPlanned ?? sweep.board.rows.count) trials: "
        html += counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        if sweep.state.objectives.count > 1 {
            html += ". Objectives: \(escape(objectives)). Front: \(sweep.board.front.count) trials, hypervolume "
            html += String(format: "%.4f", sweep.board.hypervolume) + ".</p>"
        } else {
            html += ". Objective: \(escape(objectives)) (one objective: no Pareto front).</p>"
        }
        // Results are bitwise reproducible on one CPU and BLAS kernel only: say which.
        let machines = Set(sweep.board.rows.compactMap { r in r.cpu.map { "\($0); \(r.blas ?? "BLAS unknown")" } })
            .sorted()
        if !machines.isEmpty {
            html +=
                "<p>Computed on \(machines.map(escape).joined(separator: " and ")): results repeat bit for bit on the same CPU and BLAS kernel; elsewhere the last bits differ and trajectories drift apart.</p>"
        }
        if let best = sweep.board.rows.first(where: { $0.status == .finished }) {
            html +=
                "<p>Best \(escape(sweep.state.objectives[0].name)): <b>\(escape(sweep.board.cell(best, sweep.state.objectives[0].name)))</b> (\(escape(best.id)), \(escape(best.method)))"
            if let test = best.testAccuracy { html += String(format: "; test accuracy after retraining %.4f", test) }
            html += ".</p>"
        }
        return html
    }

    func section(_ sweep: Sweep) -> String {
        var html = "<h2>\(escape(sweep.name))</h2><p class=\"path\">\(escape(sweep.directory))</p>" + summary(sweep)
        let multi = sweep.state.objectives.count > 1
        html += "<h3>\(multi ? "Pareto front" : "Finished trials")</h3><div class=\"charts\">"
        html += scatter(
            sweep, title: "Finished trials: val_acc vs parameters", x: .params, xLabel: "trainable parameters",
            log: true, front: multi
        ).render()
        html += scatter(
            sweep, title: "Finished trials: val_acc vs train time", x: .trainSeconds, xLabel: "train seconds",
            log: false, front: multi
        ).render()
        html += "</div><h3>Sensitivity</h3><div class=\"charts\">"
        var any = false
        for method in Set(sweep.state.records.map(\.method)).sorted() {
            for parameter in ["lr", "rank", "bottleneck", "reduction", "weight_decay", "heads"] {
                if let chart = sensitivity(sweep, method: method, parameter: parameter) {
                    html += chart.render(); any = true
                }
            }
        }
        if !any { html += "<p>No hyperparameter varied.</p>" }
        html += "</div><h3>Learning curves</h3><div class=\"charts\">" + curves(sweep).render() + "</div>"
        let timeline = ScheduleTimeline(sweep.state)
        if !timeline.bars.isEmpty {
            html +=
                "<h3>Schedule</h3><p>Every training stretch from the journals, on the slot it ran in (a row each; as many rows as stretches ran at once), coloured by the rung it trained towards; gaps are idle slots.</p>"
            html += timeline.render()
        }
        html += finalModels(sweep)
        html +=
            "<h3>Leaderboard</h3><p>\(multi ? "Rows of the first Pareto front are shaded" : "The best finished trial's row is shaded").</p>"
            + table(sweep)
        html += "<h3>Sweep settings</h3>"
        html +=
            sweep.specText.map { "<pre>\(escape($0))</pre>" }
            ?? "<p>The sweep file is no longer where the journal says it was.</p>"
        return html
    }

    /// Several sweeps: their fronts on shared axes, then a section each.
    func comparison() -> String {
        var html = "<h2>Fronts compared</h2><div class=\"charts\">"
        for (metric, title, log) in [
            (SearchSpec.Metric.params, "val_acc vs trainable parameters", true),
            (.trainSeconds, "val_acc vs train time", false),
        ] {
            var chart = SVGChart(
                title: title, xLabel: metric == .params ? "trainable parameters" : "train seconds", yLabel: "val_acc",
                xScale: log ? .log : .linear)
            for (i, sweep) in sweeps.enumerated() {
                let finished = sweep.state.records.filter { $0.status == .finished }
                let points = finished.compactMap { r -> (Double, Double, String)? in
                    guard let x = metricValue(r, metric), let y = metricValue(r, .valAccuracy) else { return nil }
                    return (x, y, sweep.name + ": " + Self.label(r))
                }
                let ranks = paretoRanks(points.map { [$0.0, -$0.1] })
                chart.series.append(
                    .init(
                        name: sweep.name, color: SVGChart.palette[i % SVGChart.palette.count],
                        points: zip(points, ranks).filter { $0.1 == 1 }.map(\.0), line: true, emphasised: true,
                        staircase: true))
            }
            html += chart.render()
        }
        html +=
            "</div><table><thead><tr><th>sweep</th><th>trials</th><th>finished</th><th>best val_acc</th><th>front</th><th>hypervolume (own reference)</th></tr></thead><tbody>"
        for sweep in sweeps {
            let finished = sweep.board.rows.filter { $0.status == .finished }
            let best = finished.first.map { sweep.board.cell($0, "val_acc") } ?? ""
            html +=
                "<tr><td>\(escape(sweep.name))</td><td>\(sweep.board.rows.count)</td><td>\(finished.count)</td><td>\(escape(best))</td><td>\(sweep.board.front.count)</td><td>\(String(format: "%.4f", sweep.board.hypervolume))</td></tr>"
        }
        return html
            + "</tbody></table><p>For deltas per configuration and significance tests: <code>hpsweep compare A/leaderboard.csv B/leaderboard.csv</code>.</p>"
    }

    public func html(generated: Date = Date()) -> String {
        let title =
            sweeps.count == 1
            ? "hpsweep report: \(sweeps[0].name)" : "hpsweep report: " + sweeps.map(\.name).joined(separator: " vs ")
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1120px; }
            h1 { font-size: 22px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ccc; } h3 { font-size: 16px; margin-top: 22px; }
            .charts { display: flex; flex-wrap: wrap; gap: 12px; } .charts svg { border: 1px solid #ddd; }
            table { border-collapse: collapse; font-size: 12px; } th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
            th { background: #f3f3f3; } tr.front td { background: #fff4d6; } td:nth-child(2), td:nth-child(3), td:first-child { text-align: left; }
            pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; } .path { color: #777; font-size: 12px; }
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p class="path">generated \(ISO8601DateFormatter().string(from: generated)) from the sweep journals</p>

            """
        if sweeps.count > 1 { html += comparison() }
        for sweep in sweeps { html += section(sweep) }
        return html + "</body></html>\n"
    }
}
