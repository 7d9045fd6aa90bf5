import EventContracts
import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime
import StripeClient

/// Applies stored Stripe events in the order Stripe created them: a page at a time in one
/// transaction, and when that fails, each in its own.
/// An event about a payment we do not know yet waits and is retried when payments change; a
/// stale event never moves a payment backwards (see PaymentStatus.accepts).
struct WebhookProcessor: Service, CustomStringConvertible {
    let postgres: PostgresClient
    let store: PaymentStore
    let refunds: RefundStore
    let topUps: TopUpStore
    let logger: Logger
    let wakeups: AsyncStream<Void>
    let interval: Duration
    let metrics: PaymentMetrics

    var description: String { "WebhookProcessor" }

    func run() async throws {
        // A pass is a few pages of events (seconds): one stuck on a query in flight when Postgres
        // restarted is abandoned after 30 s, not two minutes (rows are taken FOR UPDATE SKIP
        // LOCKED, so the abandoned pass and the next one never apply an event twice).
        try await runPeriodically(
            every: interval, wakeups: wakeups, passTimeout: .seconds(30), logger: logger, failure: "stripe events not processed; retrying"
        ) {
            try await processPending()
        }
    }

    /// Tries every pending event once, in Stripe's order, a page at a time; returns how many
    /// were applied. Events that still wait (or fail) do not stop the ones behind them.
    @discardableResult
    func processPending() async throws -> Int {
        var applied = 0
        var after: (created: Int64, receivedAt: Date, id: String)?
        while true {
            let page = try await postgres.query(
                """
                SELECT created, received_at, id FROM stripe_events
                WHERE processed_at IS NULL AND failed_at IS NULL
                  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                  AND (\(after?.created)::bigint IS NULL OR (created, received_at, id) > (\(after?.created), \(after?.receivedAt), \(after?.id)))
                ORDER BY created, received_at, id LIMIT 100
                """, logger: logger
            ).decode((Int64, Date, String).self).all()
            if page.count > 1, let batch = try? await process(page.map(\.2)) {
                applied += batch
            } else {
                for (_, _, id) in page {
                    do {
                        if try await process(id) { applied += 1 }
                    } catch {
                        if Task.isCancelled { throw CancellationError() }
                        try await recordFailure(of: id, error: error)
                    }
                }
            }
            guard let last = page.last, page.count == 100 else { return applied }
            after = last
        }
    }

    /// A failed event is tried again after a backoff; one that keeps failing for a reason that
    /// is not transient (it does not decode, it contradicts what we know) is parked as failed,
    /// for an operator to inspect and replay (`/api/v1/admin/stripe-events`).
    private func recordFailure(of id: String, error: any Error) async throws {
        let transient = TransientErrors.isTransient(error)
        let rows = try await postgres.query(
            """
            UPDATE stripe_events SET attempts = attempts + 1, failures = failures + 1,
                last_error = \(String(String(reflecting: error).prefix(1000))),
                next_attempt_at = now() + make_interval(secs => least(300, power(2, least(failures, 20)))::float8),
                failed_at = CASE WHEN NOT \(transient) AND failures + 1 >= \(Self.maximumFailures) THEN now() END
            WHERE id = \(id) RETURNING failures, failed_at IS NOT NULL
            """, logger: logger
        ).decode((Int, Bool).self).all()
        let (failures, parked) = rows.first ?? (0, false)
        metrics.webhookFailed(parked: parked)
        let metadata: Logger.Metadata = [
            "stripe_event": "\(id)", "error": "\(error)", "failures": "\(failures)", "transient": "\(transient)",
        ]
        if parked {
            logger.error("stripe event parked after repeated failures; replay it once fixed", metadata: metadata)
        } else {
            logger.warning("stripe event failed; it will be retried", metadata: metadata)
        }
    }

    /// Failures (not transient) after which an event is parked.
    static let maximumFailures = 5

    /// Applies one event if it is still pending (SKIP LOCKED: another instance may hold it).
    func process(_ id: String) async throws -> Bool {
        let step = try await postgres.inTransaction(logger: logger) { connection in
            try await apply(storedEvent: id, on: connection)
        }
        metrics.committed(step.outcome.map { [$0] } ?? [])
        return step.applied
    }

    /// Applies the events in one transaction (one commit for a page instead of one per event);
    /// returns how many were applied. Throws, having changed nothing, if any of them fails.
    func process(_ ids: [String]) async throws -> Int {
        let (applied, outcomes) = try await postgres.inTransaction(logger: logger) { connection in
            var applied = 0
            var outcomes: [PaymentStatus] = []
            for id in ids {
                let step = try await apply(storedEvent: id, on: connection)
                if step.applied { applied += 1 }
                if let outcome = step.outcome { outcomes.append(outcome) }
            }
            return (applied, outcomes)
        }
        metrics.committed(outcomes)
        return applied
    }

    /// Whether a stored event was applied, and the payment outcome it recorded (if any).
    private struct Step {
        var applied: Bool
        var outcome: PaymentStatus?
        static let notApplied = Step(applied: false, outcome: nil)
    }

    /// What applying a Stripe event did: it waits for something we do not know yet, or it is done.
    private enum Applied {
        case waiting(for: String)
        case done(outcome: PaymentStatus?)
    }

    private func apply(storedEvent id: String, on connection: PostgresConnection) async throws -> Step {
        let rows = try await connection.query(prepared:
            "SELECT payload FROM stripe_events WHERE id = \(id) AND processed_at IS NULL AND failed_at IS NULL FOR UPDATE SKIP LOCKED",
            logger: logger
        ).decode(Data.self).all()
        guard let payload = rows.first else { return .notApplied }
        return try await apply(id: id, payload: payload, on: connection)
    }

    /// A webhook just received, stored and applied in one transaction of its own, before Stripe
    /// has its answer: no wait for the next pass, and no second commit (under load a pass applies
    /// a page of events in one, so the saving there is the wait). nil when Stripe sent it before. Throws, having stored nothing, when it cannot be applied now; the receiver then
    /// stores it for the passes, which retry it and park it if it keeps failing.
    func storeAndApply(id: String, type: String, created: Int64, payload: Data) async throws -> Bool? {
        let step = try await postgres.inTransaction(logger: logger) { connection -> Step? in
            let inserted = try await connection.query(prepared:
                """
                INSERT INTO stripe_events (id, type, created, payload) VALUES (\(id), \(type), \(created), \(payload))
                ON CONFLICT (id) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            if inserted.isEmpty { return nil }
            return try await apply(id: id, payload: payload, on: connection)
        }
        metrics.committed(step?.outcome.map { [$0] } ?? [])
        return step?.applied
    }

    private func apply(id: String, payload: Data, on connection: PostgresConnection) async throws -> Step {
        let event = try JSONDecoder().decode(StripeEvent.self, from: payload)
        switch try await apply(event, on: connection) {
        case .waiting(let waitingFor):
            try await connection.query(prepared:
                "UPDATE stripe_events SET waiting_for = \(waitingFor), attempts = attempts + 1 WHERE id = \(id)", logger: logger)
            return .notApplied
        case .done(let outcome):
            try await connection.query(prepared:
                "UPDATE stripe_events SET processed_at = now(), waiting_for = NULL WHERE id = \(id)", logger: logger)
            return Step(applied: true, outcome: outcome)
        }
    }

    /// The event types `apply` acts on; the receiver stores no other.
    static let handledTypes: Set<String> = [
        "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
        "charge.dispute.created", "charge.dispute.closed",
        "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
        "checkout.session.expired", "charge.refunded", "refund.updated", "account.updated", "payout.paid", "payout.failed",
        "transfer.reversed",
    ]

    /// Applies the event, or says what it waits for when it cannot be applied yet.
    private func apply(_ event: StripeEvent, on connection: PostgresConnection) async throws -> Applied {
        var logger = self.logger
        logger[metadataKey: "stripe_event"] = "\(event.id)"
        switch event.type {
        case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled":
            let intent = try event.object(as: PaymentIntent.self)
            if intent.metadata["kind"] == "wallet_top_up" { return try await applyTopUp(intent, event: event, on: connection) }
            var found = try await store.lock(where: "intent_id = \(intent.id)", on: connection)
            if found == nil {
                switch try await linkCheckoutIntent(intent, on: connection) {
                case .linked(let payment): found = payment
                case .stale:
                    // A Checkout intent of a session that expired since: nothing of ours depends on it.
                    return .done(outcome: nil)
                case .notCheckout: break
                }
            }
            guard let payment = found else {
                return .waiting(for: "payment_intent \(intent.id)")
            }
            // On Stripe Checkout a decline is one attempt: the buyer may try another card until the
            // session expires, and the expiry (checkout.session.expired) is what ends it.
            if event.type != "payment_intent.succeeded", let session = try await store.checkoutSession(payment.id, on: connection) {
                let reason = intent.last_payment_error.flatMap { $0.decline_code ?? $0.code } ?? intent.status
                try await store.trail(payment.id, "checkout_attempt_failed", "session \(session.id): \(reason)", on: connection)
                return .done(outcome: nil)
            }
            let correlation = intent.metadata["correlation_id"] ?? "stripe:\(event.id)"
            let outcome: PaymentStatus
            let moved: Bool
            switch event.type {
            case "payment_intent.succeeded":
                outcome = .succeeded
                moved = try await store.move(
                    payment, to: .succeeded, chargeId: intent.chargeId, detail: "charge \(intent.chargeId ?? "-")",
                    correlationId: correlation, causationId: event.id, on: connection)
            case "payment_intent.payment_failed":
                let reason = intent.last_payment_error.flatMap { $0.decline_code ?? $0.code } ?? "payment_failed"
                outcome = .failed
                moved = try await store.move(
                    payment, to: .failed, failureReason: reason, detail: reason, correlationId: correlation,
                    causationId: event.id, on: connection)
            default:
                outcome = .cancelled
                moved = try await store.move(
                    payment, to: .cancelled, failureReason: "canceled", detail: "intent canceled", correlationId: correlation,
                    causationId: event.id, on: connection)
            }
            return .done(outcome: moved ? outcome : nil)
        case "charge.dispute.created", "charge.dispute.closed":
            if let waitingFor = try await relay(dispute: try event.object(as: Dispute.self), event: event, on: connection) {
                return .waiting(for: waitingFor)
            }
        case "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed":
            // The outcome itself comes with the session's payment_intent.* events; this links them.
            let session = try event.object(as: CheckoutSession.self)
            guard let paymentId = session.metadata?["payment_id"].flatMap(UUID.init(uuidString:)),
                  let payment = try await store.lock(id: paymentId, on: connection)
            else {
                logger.warning("checkout session for a payment we do not know", metadata: ["session": "\(session.id)"])
                return .done(outcome: nil)
            }
            if payment.intentId == nil, let intentId = session.payment_intent?.id {
                try await store.setIntent(payment.id, intentId: intentId, clientSecret: nil, on: connection)
            }
            try await store.trail(
                payment.id, event.type.replacingOccurrences(of: ".", with: "_"), "session \(session.id): \(session.payment_status)",
                on: connection)
        case "checkout.session.expired":
            let session = try event.object(as: CheckoutSession.self)
            _ = try await store.clearCheckoutSession(session.id, on: connection)
        case "charge.refunded":
            let charge = try event.object(as: Charge.self)
            if let payment = try await store.lock(where: "charge_id = \(charge.id)", on: connection) {
                try await store.trail(payment.id, "charge_refunded", "Stripe reports \(charge.amount_refunded) refunded", on: connection)
            } else {
                logger.warning("refund on a charge we do not know", metadata: ["charge": "\(charge.id)"])
            }
        case "refund.updated":
            let refund = try event.object(as: Refund.self)
            if refund.status == "failed" || refund.status == "canceled" {
                // Our refund may not know its outcome yet (the answer was lost, or is on its way):
                // the report waits until it does, then reverses it.
                let settled = try await refunds.reverse(
                    stripeRefundId: refund.id, refundId: refund.metadata["refund_id"].flatMap(UUID.init(uuidString:)),
                    reason: "gateway: refund \(refund.status ?? "failed")", correlationId: "stripe:\(event.id)", on: connection, store: store)
                if !settled { return .waiting(for: "refund \(refund.id)") }
            }
        case "account.updated":
            let account = try event.object(as: Account.self)
            try await forward(
                GatewayAccountUpdated(
                    accountId: account.id, chargesEnabled: account.charges_enabled ?? false,
                    payoutsEnabled: account.payouts_enabled ?? false, detailsSubmitted: account.details_submitted ?? false,
                    currentlyDue: account.requirements?.currently_due ?? [], stripeEventId: event.id, stripeCreated: event.created),
                aggregateId: account.id, event: event, on: connection)
        case "payout.paid", "payout.failed":
            let payout = try event.object(as: Payout.self)
            try await forward(
                GatewayPayoutUpdated(
                    payoutId: payout.id, accountId: event.account, status: payout.status, amount: payout.amount,
                    currency: payout.currency, failureCode: payout.failure_code),
                aggregateId: payout.id, event: event, on: connection)
        case "transfer.reversed":
            let transfer = try event.object(as: Transfer.self)
            try await forward(
                GatewayTransferReversed(
                    transferId: transfer.id, amountReversed: transfer.amount_reversed, currency: transfer.currency,
                    transferGroup: transfer.transfer_group),
                aggregateId: transfer.id, event: event, on: connection)
        default:
            logger.info("stripe event type not handled here", metadata: ["type": "\(event.type)"])
        }
        return .done(outcome: nil)
    }

    /// A wallet top-up's intent: its success is credited (through `wallet.topped_up`), a decline
    /// leaves the top-up for another card.
    private func applyTopUp(_ intent: PaymentIntent, event: StripeEvent, on connection: PostgresConnection) async throws -> Applied {
        guard let topUp = try await topUps.find(where: "intent_id = \(intent.id)", lock: true, on: connection) else {
            return .waiting(for: "payment_intent \(intent.id)")
        }
        switch event.type {
        case "payment_intent.succeeded":
            try await topUps.settle(
                topUp, succeeded: true, chargeId: intent.chargeId, reason: nil, correlationId: intent.metadata["correlation_id"] ?? "stripe:\(event.id)",
                causationId: event.id, on: connection)
        default:
            let reason = intent.last_payment_error.flatMap { $0.decline_code ?? $0.code } ?? intent.status
            try await topUps.settle(
                topUp, succeeded: false, chargeId: nil, reason: reason, correlationId: "stripe:\(event.id)", causationId: event.id, on: connection)
        }
        return .done(outcome: nil)
    }

    /// An intent Stripe Checkout made for one of our sessions: it names its payment in its
    /// metadata (`payment_intent_data`); the payment takes it as its intent, whichever of the
    /// session's and the intent's events comes first.
    private func linkCheckoutIntent(_ intent: PaymentIntent, on connection: PostgresConnection) async throws -> CheckoutLink {
        guard intent.metadata["checkout_session"] == "true", let paymentId = intent.metadata["payment_id"].flatMap(UUID.init(uuidString:)) else {
            return .notCheckout
        }
        guard let payment = try await store.lock(
            where: "id = \(paymentId) AND checkout_session_id IS NOT NULL AND intent_id IS NULL", on: connection)
        else { return intent.status == "succeeded" ? .notCheckout : .stale }
        try await store.setIntent(payment.id, intentId: intent.id, clientSecret: nil, on: connection)
        return try await store.lock(id: payment.id, on: connection).map(CheckoutLink.linked) ?? .notCheckout
    }

    private enum CheckoutLink {
        case linked(Payment)
        /// Its session is gone (expired): a failure or cancellation of it changes nothing.
        case stale
        case notCheckout
    }

    /// A card dispute freezes refunds on the charge and is relayed for EscrowService.
    private func relay(dispute: Dispute, event: StripeEvent, on connection: PostgresConnection) async throws -> String? {
        guard let payment = try await store.lock(where: "charge_id = \(dispute.charge.id)", on: connection) else {
            return "charge \(dispute.charge.id)"
        }
        let opened = event.type == "charge.dispute.created"
        try await connection.query(prepared:
            "UPDATE payments SET chargeback_open = \(opened), updated_at = now() WHERE id = \(payment.id)", logger: logger)
        try await store.trail(payment.id, opened ? "chargeback_opened" : "chargeback_closed", "\(dispute.id) \(dispute.status)", on: connection)
        let payload = ChargebackChanged(
            paymentId: payment.id, chargeId: dispute.charge.id, disputeId: dispute.id, amount: dispute.amount,
            currency: dispute.currency, reason: dispute.reason, status: dispute.status,
            orders: payment.orders.map { .init(orderId: $0.orderId, sellerId: $0.sellerId, amount: $0.amount) })
        let envelope = EventEnvelope(
            type: opened ? ChargebackChanged.openedType : ChargebackChanged.closedType, aggregateType: ChargebackChanged.aggregateType,
            aggregateId: payment.id.uuidString.lowercased(), correlationId: "stripe:\(event.id)", causationId: event.id,
            producer: PaymentStore.producer, payload: try JSONValue(encoding: payload))
        try await Outbox.append(envelope, topic: store.topic, on: connection, logger: logger)
        return nil
    }

    /// Relays a gateway fact other services act on (PaymentService is the only webhook receiver).
    private func forward<Payload: DomainEventPayload>(
        _ payload: Payload, aggregateId: String, event: StripeEvent, on connection: PostgresConnection
    ) async throws {
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: aggregateId, correlationId: "stripe:\(event.id)", causationId: event.id,
            producer: PaymentStore.producer)
        try await Outbox.append(envelope, topic: store.topic, on: connection, logger: logger)
    }
}
