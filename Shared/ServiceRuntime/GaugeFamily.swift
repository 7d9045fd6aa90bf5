/// A gauge computed when `/metrics` is scraped (e.g. counts from the service's own tables),
/// so it is never stale and needs no background job.
public struct GaugeFamily: Sendable {
    public struct Sample: Sendable {
        public var labels: [(String, String)]
        public var value: Double

        public init(labels: [(String, String)] = [], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    /// A valid Prometheus metric name, e.g. `outbox_unpublished_events`.
    public var name: String
    public var help: String
    public var samples: [Sample]

    public init(name: String, help: String, samples: [Sample]) {
        self.name = name
        self.help = help
        self.samples = samples
    }

    /// Appends the family in the Prometheus text exposition format.
    func render(into text: inout String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
        for sample in samples {
            let labels = sample.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
            text += labels.isEmpty ? name : "\(name){\(labels)}"
            text += " \(Self.format(sample.value))\n"
        }
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Reads a service's domain gauges at scrape time.
public typealias GaugeCollector = @Sendable () async throws -> [GaugeFamily]
