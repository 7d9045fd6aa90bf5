import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService
@testable import NotificationService
@testable import OrderService
@testable import PaymentService
@testable import ServiceRuntime

/// The alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard
/// (deploy/grafana/dashboards/escrowmarket.json) only use metrics the four services export:
/// each service runs and is scraped, and every metric and label name the expressions name must
/// be in a scrape.
@Suite struct MonitoringMetricsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyMetricTheRulesAndTheDashboardUseIsExportedByAService() async throws {
        let scrapes = Scrapes()
        for definition in [ServiceDefinition.orderService, .paymentService, .escrowService, .notificationService] {
            try await ServiceHarness.run(definition, topics: Topic.all) { service in
                // A request first, so the per-route request counter and histogram have samples.
                try await service.call(.get, "/api/v1/whoami", as: "operator", roles: ["admin"])
                await scrapes.add(try await service.metrics())
            }
        }
        var exported = Scrape()
        for text in await scrapes.texts { exported.add(text) }
        #expect(await scrapes.texts.count == 4)
        let expressions = try Self.ruleExpressions() + Self.dashboardExpressions()
        #expect(expressions.count >= 40, "\(expressions.count) expressions found")
        for expression in expressions {
            let used = PromQLNames(expression)
            #expect(!used.metrics.isEmpty, "no metric in \(expression)")
            for metric in used.metrics {
                #expect(exported.families.contains(metric), "\(metric) is not exported by any service (in: \(expression))")
            }
            // Labels: those of the named metrics' samples, and the ones Prometheus adds per target.
            // (Checked when every metric named has samples: a family without any shows no labels.)
            let known = used.metrics.reduce(into: Scrape.targetLabels) { $0.formUnion(exported.labels[$1] ?? []) }
            let sampled = used.metrics.allSatisfy { exported.labels[$0] != nil }
            for label in used.labels where sampled {
                #expect(known.contains(label), "label \(label) is on none of \(used.metrics.sorted()) (in: \(expression))")
            }
        }
    }

    @Test func theNameExtractionSeesMetricsAndLabelsButNotFunctionsOrKeywords() {
        let names = PromQLNames(
            #"histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{route=~"/a|b"}[5m]))) > 1e3 and on () up == 0"#)
        #expect(names.metrics == ["http_request_duration_seconds_bucket", "up"])
        #expect(names.labels == ["service", "le", "route"])
    }

    /// Every `expr:` of the rule file, single-line or a block (`|`, `>`).
    static func ruleExpressions() throws -> [String] {
        let lines = try String(contentsOf: root.appending(path: "deploy/prometheus/alerts.yml"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var expressions: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard let range = line.range(of: #"^\s*(- )?expr:\s*"#, options: .regularExpression) else { continue }
            let value = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            guard value.hasPrefix("|") || value.hasPrefix(">") else {
                expressions.append(value)
                continue
            }
            let indent = line.prefix(while: { $0 == " " }).count
            var block: [String] = []
            while index < lines.count,
                lines[index].trimmingCharacters(in: .whitespaces).isEmpty || lines[index].prefix(while: { $0 == " " }).count > indent
            {
                block.append(lines[index])
                index += 1
            }
            expressions.append(block.joined(separator: "\n"))
        }
        return expressions
    }

    /// Every panel target's `expr` of the dashboard.
    static func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: root.appending(path: "deploy/grafana/dashboards/escrowmarket.json"))
        var expressions: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { expressions.append(expr) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(try JSONSerialization.jsonObject(with: data))
        return expressions
    }
}

/// The services' `/metrics` texts, collected from each harness's body.
actor Scrapes {
    var texts: [String] = []

    func add(_ text: String) { texts.append(text) }
}

/// What the services' `/metrics` exports: metric families (a histogram's `_bucket`, `_sum` and
/// `_count` series included) and, for each series name that has samples, the label names seen.
struct Scrape {
    /// Labels Prometheus attaches to every series of a target (deploy/prometheus/prometheus.yml).
    static let targetLabels: Set<String> = ["job", "instance", "service"]

    var families: Set<String> = ["up"]  // Prometheus's own per-target series
    var labels: [String: Set<String>] = ["up": []]

    mutating func add(_ text: String) {
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count == 4 else { continue }
                let (name, type) = (parts[2], parts[3])
                switch type {
                case "histogram": families.formUnion([name + "_bucket", name + "_sum", name + "_count"])
                case "summary": families.formUnion([name, name + "_sum", name + "_count"])
                default: families.insert(name)
                }
            } else if !line.hasPrefix("#"), let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) {
                var names: [String] = []
                if line[end] == "{", let close = line.lastIndex(of: "}") {
                    // Each label with its whole quoted value, so a value never reads as a label.
                    names = line[end...close].matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/).map { String($0.output.1) }
                }
                labels[String(line[..<end]), default: []].formUnion(names)
            }
        }
    }
}

/// The metric and label names a PromQL expression uses (enough of PromQL for our rules and
/// dashboards: selectors, functions, aggregations with `by`/`without`, `on`/`ignoring` matching).
struct PromQLNames {
    var metrics: Set<String> = []
    var labels: Set<String> = []

    static let keywords: Set<String> = [
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan",
    ]

    init(_ expression: String) {
        // String literals first (a regex like "/a|b" or a `{` inside one must not count).
        var text = expression.replacing(/"(?:[^"\\]|\\.)*"/, with: "\"\"")
        // Label names in selectors: name="…", name=~"…", name!="…", name!~"…".
        for selector in text.matches(of: /\{([^}]*)\}/) {
            for matcher in selector.output.1.matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)/) {
                labels.insert(String(matcher.output.1))
            }
        }
        // Grouping labels.
        for clause in text.matches(of: /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/) {
            labels.formUnion(clause.output.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        text = text.replacing(/\{[^}]*\}/, with: " ").replacing(/\[[^\]]*\]/, with: " ")
            .replacing(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/, with: " ")
        // A number (1e3, 0.95) is matched whole, so its letters never read as a name.
        for token in text.matches(of: /[0-9][0-9a-zA-Z_.+]*|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/) {
            guard let name = token.output.1.map(String.init) else { continue }
            // A name followed by `(` is a function or an aggregation.
            if token.output.2 == nil, !Self.keywords.contains(name.lowercased()) { metrics.insert(name) }
        }
    }
}
