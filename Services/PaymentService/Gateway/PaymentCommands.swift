import Foundation
import GatewayCommands
import PostgresNIO
import StripeClient

/// The gateway commands PaymentService records, and what each one's outcome does.
enum PaymentCommand {
    /// The checkout's PaymentIntent.
    static let createIntent = "create_intent"
    /// Money back to the buyer.
    static let refund = "refund"
    /// A Stripe Checkout Session for the checkout's payment.
    static let createCheckoutSession = "create_checkout_session"
    /// The PaymentIntent of a buyer's wallet top-up.
    static let createTopUpIntent = "create_top_up_intent"
    /// The buyer's Stripe Customer, the owner of saved cards (moves no money).
    static let createCustomer = "create_customer"

    static func handlers(
        gateway: any PaymentGateway, payments: PaymentStore, refunds: RefundStore, customers: CustomerStore, topUps: TopUpStore
    ) -> [String: any GatewayCommandHandler] {
        [
            createIntent: CreateIntentHandler(gateway: gateway, payments: payments),
            refund: RefundHandler(gateway: gateway, payments: payments, refunds: refunds),
            createCheckoutSession: CreateCheckoutSessionHandler(gateway: gateway, payments: payments),
            createTopUpIntent: CreateTopUpIntentHandler(gateway: gateway, topUps: topUps),
            createCustomer: CreateCustomerHandler(gateway: gateway, customers: customers),
        ]
    }
}

struct CreateIntentHandler: GatewayCommandHandler {
    let gateway: any PaymentGateway
    let payments: PaymentStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await gateway.createIntent(for: command) {
            (["payment_id": command.subject, "checkout_id": try command.parameter("checkout_id")], try command.parameter("checkout_id"))
        }
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject), let payment = try await payments.lock(id: id, on: connection),
              payment.intentId == nil
        else { return }
        try await payments.setIntent(id, intentId: objectId, clientSecret: attributes["client_secret"], on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await payments.trail(id, "intent_refused", "\(code): \(reason)", on: connection)
    }
}

struct RefundHandler: GatewayCommandHandler {
    let gateway: any PaymentGateway
    let payments: PaymentStore
    let refunds: RefundStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        let charge = command.parameters["charge"] ?? ""
        guard !charge.isEmpty else { return .refused(code: "no_charge", reason: "no charge recorded for the payment") }
        let outcome = await GatewayOutcome.attempt { () async throws -> (id: String, attributes: [String: String]) in
            let refund = try await gateway.refund(
                chargeId: charge, amount: command.amount, currency: command.currency, reason: try command.parameter("reason"),
                refundId: command.subject, idempotencyKey: command.idempotencyKey)
            return (refund.id, ["status": refund.status ?? "succeeded"])
        }
        // A refund object that failed at once moved no money.
        if case .succeeded(_, let attributes) = outcome, let status = attributes["status"], status == "failed" || status == "canceled" {
            return .refused(code: "refund_\(status)", reason: "the gateway reports the refund \(status)")
        }
        return outcome
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject), let refund = try await refunds.lock(id, on: connection),
              refund.status == "requested"
        else { return }
        try await refunds.succeeded(refund, stripeRefundId: objectId, correlationId: command.correlationId, on: connection, store: payments)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject), let refund = try await refunds.lock(id, on: connection),
              refund.status == "requested"
        else { return }
        try await refunds.failed(refund, reason: code, correlationId: command.correlationId, on: connection, store: payments)
    }
}

struct CreateCheckoutSessionHandler: GatewayCommandHandler {
    let gateway: any PaymentGateway
    let payments: PaymentStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await GatewayOutcome.attempt { () async throws -> (id: String, attributes: [String: String]) in
            let lines = Self.lines(command.parameters["lines"] ?? "")
            let session = try await gateway.createCheckoutSession(
                CheckoutSessionRequest(
                    currency: command.currency,
                    lines: lines.isEmpty ? [.init(name: "Checkout", amount: command.amount)] : lines,
                    successURL: try command.parameter("success_url"), cancelURL: try command.parameter("cancel_url"),
                    metadata: [
                        "payment_id": command.subject, "checkout_id": try command.parameter("checkout_id"),
                        "correlation_id": command.correlationId, "checkout_session": "true",
                    ],
                    transferGroup: try command.parameter("checkout_id"), customerEmail: nil, idempotencyKey: command.idempotencyKey))
            return (session.id, ["url": session.url ?? "", "expires_at": String(session.expires_at)])
        }
    }

    /// The session's lines, one per order, as the command's `lines` parameter keeps them (JSON).
    static func encode(_ lines: [CheckoutSessionRequest.Line]) -> String {
        (try? JSONEncoder().encode(lines)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func lines(_ text: String) -> [CheckoutSessionRequest.Line] {
        (try? JSONDecoder().decode([CheckoutSessionRequest.Line].self, from: Data(text.utf8))) ?? []
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await payments.setCheckoutSession(
            id, sessionId: objectId, url: attributes["url"] ?? "", expiresAt: Int64(attributes["expires_at"] ?? "") ?? 0, on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await payments.trail(id, "checkout_session_refused", "\(code): \(reason)", on: connection)
    }
}

struct CreateTopUpIntentHandler: GatewayCommandHandler {
    let gateway: any PaymentGateway
    let topUps: TopUpStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await gateway.createIntent(for: command) {
            (["kind": "wallet_top_up", "top_up_id": command.subject, "buyer_id": try command.parameter("buyer_id")], "top-up-\(command.subject)")
        }
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await topUps.setIntent(id, intentId: objectId, clientSecret: attributes["client_secret"], on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await topUps.refused(id, code: code, on: connection)
    }
}

extension PaymentGateway {
    /// A PaymentIntent for the command's amount, keyed by its idempotency key, with the given
    /// metadata (plus the correlation id) and transfer group; its id and client secret on success.
    func createIntent(
        for command: GatewayCommand, _ details: () throws -> (metadata: [String: String], transferGroup: String)
    ) async -> GatewayOutcome {
        await GatewayOutcome.attempt { () async throws -> (id: String, attributes: [String: String]) in
            let (metadata, transferGroup) = try details()
            let intent = try await createIntent(
                IntentRequest(
                    amount: command.amount, currency: command.currency,
                    metadata: metadata.merging(["correlation_id": command.correlationId]) { mine, _ in mine },
                    transferGroup: transferGroup, idempotencyKey: command.idempotencyKey))
            return (intent.id, intent.client_secret.map { ["client_secret": $0] } ?? [:])
        }
    }
}
