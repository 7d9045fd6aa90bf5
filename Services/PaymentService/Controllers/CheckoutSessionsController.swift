import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import Messaging
import PostgresNIO

/// `POST /api/v1/payments/checkout-session`: the buyer pays on Stripe Checkout instead of our
/// page. One open session per payment (a retry returns it; a new one only after it expired); the
/// session is a gateway command like the intent, and its payment settles by the same webhooks.
struct CheckoutSessionsController: Sendable {
    let store: PaymentStore
    let postgres: PostgresClient
    let commands: GatewayCommandRunner
    let flags: FeatureFlagStore
    let arrivals: ArrivalListener
    let arrivalWait: Duration

    struct CreateSession: Decodable {
        var orderId: UUID?
        var checkoutId: UUID?
        var successUrl: String
        var cancelUrl: String
    }

    struct SessionResponse: Encodable, ResponseEncodable {
        var paymentId: UUID
        var sessionId: String
        var url: String
        var expiresAt: Date
    }

    /// A session is reused until a minute before it expires.
    static let reuseMargin: TimeInterval = 60

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("payments/checkout-session") { request, context in try await create(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> SessionResponse {
        let buyer = try context.requireRole(.buyer)
        try await flags.require(.checkoutSessions)
        let body = try await request.decode(as: CreateSession.self, context: context)
        guard (body.orderId == nil) != (body.checkoutId == nil) else { throw Problem.validation("Send exactly one of orderId or checkoutId.") }
        for (name, url) in [("successUrl", body.successUrl), ("cancelUrl", body.cancelUrl)] where !Self.isReturnURL(url) {
            throw Problem.validation("\(name) must be an http(s) URL of at most 2,000 characters.")
        }
        let key = (body.checkoutId ?? body.orderId)?.uuidString.lowercased() ?? ""
        let paymentId = try await arrivals.wait(for: [key], timeout: arrivalWait) {
            try await postgres.withConnection { try await store.paymentId(orderId: body.orderId, checkoutId: body.checkoutId, on: $0) }
        }
        guard let paymentId else { throw PaymentsController.noPayment(for: body.checkoutId ?? body.orderId) }
        enum Decision: Sendable {
            case existing(SessionResponse)
            case command(UUID)
        }
        let decision = try await postgres.inTransaction(logger: context.logger) { connection -> Decision in
            guard let payment = try await store.lock(id: paymentId, on: connection), payment.buyerId == buyer.id
            else { throw Problem.notFound("No payment for that order or checkout.") }
            guard payment.status.isPayable else {
                throw Problem.conflict("This payment is \(payment.status.rawValue).", extensions: ["currentState": payment.status.rawValue])
            }
            let session = try await store.checkoutSession(payment.id, on: connection)
            if let session, session.expiresAt.timeIntervalSinceNow > Self.reuseMargin {
                return .existing(SessionResponse(paymentId: payment.id, sessionId: session.id, url: session.url, expiresAt: session.expiresAt))
            }
            // Store credit is spent through create-intent, which charges the card only the rest.
            if payment.walletRequested {
                throw Problem.conflict("This payment spends store credit; pay the rest with create-intent.", extensions: ["currentState": payment.status.rawValue])
            }
            // Two ways to pay one payment would be two charges: the intent path excludes this one.
            if payment.intentId != nil && session == nil {
                throw Problem.conflict("This payment is being paid with its PaymentIntent (create-intent); continue there.", extensions: ["currentState": payment.status.rawValue])
            }
            let subject = payment.id.uuidString.lowercased()
            let earlier = try await commands.store.commands(subject: subject, kind: PaymentCommand.createCheckoutSession, on: connection)
            if let pending = earlier.first(where: { $0.status == .pending }) { return .command(pending.id) }
            let lines = payment.orders.map { CheckoutSessionRequest.Line(name: "Order \($0.orderNumber) (\($0.sellerId))", amount: $0.amount) }
            let command = try await commands.store.enqueue(
                GatewayCommand(
                    kind: PaymentCommand.createCheckoutSession, subject: subject, amount: payment.amount, currency: payment.currency,
                    idempotencyKey: "payment-\(subject)-checkout-session-\(earlier.count + 1)",
                    parameters: [
                        "checkout_id": payment.checkoutId.uuidString.lowercased(), "success_url": body.successUrl, "cancel_url": body.cancelUrl,
                        "lines": CreateCheckoutSessionHandler.encode(lines),
                    ],
                    correlationId: context.requestId),
                on: connection)
            return .command(command.id)
        }
        switch decision {
        case .existing(let response):
            return response
        case .command(let commandId):
            switch try await commands.runAndWait(commandId, postgres: postgres)?.status {
            case .succeeded?:
                let session = try await postgres.withConnection { try await store.checkoutSession(paymentId, on: $0) }
                guard let session else { throw PaymentsController.unavailable }
                return SessionResponse(paymentId: paymentId, sessionId: session.id, url: session.url, expiresAt: session.expiresAt)
            case .refused?:
                throw Problem(
                    status: .badGateway, type: "/problems/gateway", title: "Payment provider refused",
                    detail: "The payment provider refused to open Checkout for this payment; try again or contact support.")
            case .pending?, nil:
                throw PaymentsController.unavailable
            }
        }
    }

    static func isReturnURL(_ text: String) -> Bool {
        guard text.utf8.count <= 2000, let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else { return false }
        return !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
