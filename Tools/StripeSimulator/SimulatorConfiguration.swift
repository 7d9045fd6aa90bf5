import Foundation

/// Everything the simulator reads at start: environment variables with local defaults, and
/// `--host` / `--port` flags that win over the environment.
struct SimulatorConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 12111
    /// The address the onboarding links point at; `http://host:port` unless set.
    var publicBaseURL: String?
    /// Where webhooks go (changeable at run time through `PUT /_sim/config`).
    var webhookURL: String?
    var webhookSecret = "whsec_stripe_simulator"
    /// The event types the endpoint gets, as a Stripe endpoint's `enabled_events`; nil for all.
    var webhookEvents: Set<String>?
    /// First retry delay of a refused webhook; it doubles per attempt up to `webhookRetryCap`.
    var webhookRetryBase: Duration = .milliseconds(1000)
    var webhookRetryCap: Duration = .seconds(60)
    /// Attempts after which a webhook that is never accepted is given up.
    var webhookMaxAttempts = 30
    var webhookTimeout: Duration = .seconds(10)
    /// Deliveries in flight at once (Stripe sends concurrently and promises no order).
    var webhookConcurrency = 16
    var idempotencyTTL: Duration = .seconds(24 * 3600)
    /// How long a payout takes to settle.
    var payoutDelay: Duration = .milliseconds(300)
    var logLevel = "info"

    var baseURL: String { publicBaseURL ?? "http://\(host):\(port)" }

    init() {}

    init(environment: [String: String], arguments: [String]) throws {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func milliseconds(_ name: String) throws -> Duration? {
            try value(name).map { .milliseconds(try Self.integer($0, name)) }
        }
        if let host = value("SIM_HOST") { self.host = host }
        if let port = value("SIM_PORT") { self.port = try Self.integer(port, "SIM_PORT") }
        publicBaseURL = value("SIM_PUBLIC_URL")
        webhookURL = value("SIM_WEBHOOK_URL")
        if let secret = value("SIM_WEBHOOK_SECRET") { webhookSecret = secret }
        if let events = value("SIM_WEBHOOK_EVENTS") {
            do {
                webhookEvents = try WebhookEndpoint.enabledEvents(events.split(separator: ",").map(String.init))
            } catch {
                throw ConfigurationError("SIM_WEBHOOK_EVENTS: \(error)")
            }
        }
        if let base = try milliseconds("SIM_WEBHOOK_RETRY_BASE_MS") { webhookRetryBase = base }
        if let cap = try milliseconds("SIM_WEBHOOK_RETRY_CAP_MS") { webhookRetryCap = cap }
        if let attempts = value("SIM_WEBHOOK_MAX_ATTEMPTS") { webhookMaxAttempts = try Self.integer(attempts, "SIM_WEBHOOK_MAX_ATTEMPTS") }
        if let timeout = try milliseconds("SIM_WEBHOOK_TIMEOUT_MS") { webhookTimeout = timeout }
        if let concurrency = value("SIM_WEBHOOK_CONCURRENCY") {
            webhookConcurrency = min(256, max(1, try Self.integer(concurrency, "SIM_WEBHOOK_CONCURRENCY")))
        }
        if let ttl = value("SIM_IDEMPOTENCY_TTL_SECONDS") {
            guard let seconds = Double(ttl), seconds > 0 else { throw ConfigurationError("SIM_IDEMPOTENCY_TTL_SECONDS must be a positive number") }
            idempotencyTTL = .milliseconds(Int64(seconds * 1000))
        }
        if let delay = try milliseconds("SIM_PAYOUT_DELAY_MS") { payoutDelay = delay }
        if let level = value("SIM_LOG_LEVEL") { logLevel = level }

        var remaining = arguments.dropFirst()
        while let flag = remaining.popFirst() {
            guard let argument = remaining.popFirst() else { throw ConfigurationError("\(flag) needs a value") }
            switch flag {
            case "--port": port = try Self.integer(argument, "--port")
            case "--host": host = argument
            default: throw ConfigurationError("unknown flag \(flag) (known: --host, --port)")
            }
        }
    }

    private static func integer(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text), value >= 0 else { throw ConfigurationError("\(name) must be a non-negative integer, got '\(text)'") }
        return value
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "configuration error: \(description)" }
}
