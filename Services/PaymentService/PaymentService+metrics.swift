import Logging
import Metrics
import PostgresNIO
import ServiceRuntime

/// PaymentService's counters: payment outcomes applied from Stripe's webhooks, and stored
/// webhook events that failed to apply. Every series exists at zero from the start, so a rate
/// or an increase sees the first event.
struct PaymentMetrics: Sendable {
    /// The outcomes a webhook can record (`payment_outcomes_total{outcome}`).
    static let outcomes: [PaymentStatus] = [.succeeded, .failed, .cancelled]

    let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
        for outcome in Self.outcomes { _ = outcomeCounter(outcome) }
        for parked in [false, true] { _ = failureCounter(parked: parked) }
    }

    /// Outcomes a committed transaction recorded (never counted for one that rolled back).
    func committed(_ outcomes: [PaymentStatus]) {
        for outcome in outcomes where Self.outcomes.contains(outcome) { outcomeCounter(outcome).increment() }
    }

    /// A stored event failed to apply: it is retried after a backoff, or parked for an operator.
    func webhookFailed(parked: Bool) {
        failureCounter(parked: parked).increment()
    }

    private func outcomeCounter(_ outcome: PaymentStatus) -> Counter {
        Counter(label: "payment_outcomes_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
    }

    private func failureCounter(parked: Bool) -> Counter {
        Counter(label: "stripe_webhook_failures_total", dimensions: [("result", parked ? "parked" : "retrying")], factory: factory)
    }
}

extension ServiceDefinition {
    /// Stored Stripe events not applied yet (the webhook processor's backlog, and its lag: the age
    /// of the oldest), those waiting for a payment or refund we do not know yet, and those parked
    /// after repeated failures (they wait for an operator's replay).
    static func webhookGauges(postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let pending = try await postgres.query(
            """
            SELECT count(*)::int8, count(*) FILTER (WHERE waiting_for IS NOT NULL)::int8,
                COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0)::float8
            FROM stripe_events WHERE processed_at IS NULL AND failed_at IS NULL
            """, logger: logger
        ).decode((Int64, Int64, Double).self).all().first ?? (Int64(0), Int64(0), Double(0))
        let parked = try await postgres.query(
            "SELECT count(*)::int8 FROM stripe_events WHERE processed_at IS NULL AND failed_at IS NOT NULL", logger: logger
        ).decode(Int64.self).all().first ?? 0
        return [
            GaugeFamily(
                name: "stripe_webhook_events_pending", help: "Stored Stripe events not applied yet (including those waiting).",
                samples: [.init(value: Double(pending.0))]),
            GaugeFamily(
                name: "stripe_webhook_events_waiting", help: "Pending Stripe events waiting for a payment or refund we do not know yet.",
                samples: [.init(value: Double(pending.1))]),
            GaugeFamily(
                name: "stripe_webhook_oldest_pending_age_seconds",
                help: "Seconds since the oldest pending Stripe event was received (0 when none): the processing lag.",
                samples: [.init(value: pending.2)]),
            GaugeFamily(
                name: "stripe_webhook_events_parked", help: "Stripe events parked after repeated failures, waiting for a replay.",
                samples: [.init(value: Double(parked))]),
        ]
    }
}
