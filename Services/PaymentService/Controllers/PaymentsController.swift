import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import PostgresNIO
import StripeClient

/// `/api/v1/payments`: the buyer's PaymentIntent for a checkout, server-side confirmation, and
/// payment history. Outcomes are never taken from these calls: they come from the webhook.
struct PaymentsController: Sendable {
    let store: PaymentStore
    let postgres: PostgresClient
    let gateway: any PaymentGateway
    let logger: Logger

    struct CreateIntent: Decodable {
        var orderId: UUID?
        var checkoutId: UUID?
    }

    struct IntentResponse: Encodable, ResponseEncodable {
        var paymentId: UUID
        var intentId: String
        var clientSecret: String?
        var amount: Int64
        var currency: String
        var status: String
    }

    struct Confirm: Decodable {
        var paymentId: UUID
        var paymentMethod: String
    }

    struct ConfirmResponse: Encodable, ResponseEncodable {
        var paymentId: UUID
        /// The intent's status as Stripe reported it; the payment's outcome arrives by webhook.
        var intentStatus: String
        var paymentStatus: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("payments/create-intent") { request, context in try await createIntent(request, context) }
        group.post("payments/confirm") { request, context in try await confirm(request, context) }
        group.get("payments") { request, context in try await list(request, context) }
        group.get("payments/{id}") { _, context in try await show(context) }
    }

    /// Creates the one PaymentIntent of the checkout, or returns it again.
    func createIntent(_ request: Request, _ context: AppRequestContext) async throws -> IntentResponse {
        let buyer = try context.requireRole(.buyer)
        let body = try await request.decode(as: CreateIntent.self, context: context)
        guard (body.orderId == nil) != (body.checkoutId == nil) else {
            throw Problem.validation("Send exactly one of orderId or checkoutId.")
        }
        return try await postgres.inTransaction(logger: context.logger) { connection in
            guard let id = try await store.paymentId(orderId: body.orderId, checkoutId: body.checkoutId, on: connection),
                  let payment = try await store.lock(id: id, on: connection), payment.buyerId == buyer.id
            else { throw Problem.notFound("No payment for that order or checkout (it may not be created yet; retry shortly).") }
            if let intentId = payment.intentId {
                return IntentResponse(
                    paymentId: payment.id, intentId: intentId, clientSecret: try await store.clientSecret(payment.id, on: connection),
                    amount: payment.amount, currency: payment.currency, status: payment.status.rawValue)
            }
            guard payment.status.isPayable else {
                throw Problem.conflict("This payment is \(payment.status.rawValue).", extensions: ["currentState": payment.status.rawValue])
            }
            // The payment row stays locked while Stripe is asked, so one payment gets one intent
            // even where the gateway ignores Idempotency-Key.
            let intent: PaymentIntent
            do {
                intent = try await gateway.createIntent(
                    IntentRequest(
                        amount: payment.amount, currency: payment.currency,
                        metadata: [
                            "payment_id": payment.id.uuidString.lowercased(), "checkout_id": payment.checkoutId.uuidString.lowercased(),
                            "correlation_id": context.requestId,
                        ],
                        transferGroup: payment.checkoutId.uuidString.lowercased(),
                        idempotencyKey: "payment-\(payment.id.uuidString.lowercased())-intent"))
            } catch let error as StripeError {
                throw Self.problem(for: error, logger: context.logger)
            }
            try await store.setIntent(payment.id, intentId: intent.id, clientSecret: intent.client_secret, on: connection)
            return IntentResponse(
                paymentId: payment.id, intentId: intent.id, clientSecret: intent.client_secret, amount: payment.amount,
                currency: payment.currency, status: PaymentStatus.processing.rawValue)
        }
    }

    func confirm(_ request: Request, _ context: AppRequestContext) async throws -> ConfirmResponse {
        let buyer = try context.requireRole(.buyer)
        let body = try await request.decode(as: Confirm.self, context: context)
        guard (1...255).contains(body.paymentMethod.count) else { throw Problem.validation("paymentMethod is required.") }
        let payment = try await postgres.withConnection { try await store.find(id: body.paymentId, on: $0) }
        guard let payment, payment.buyerId == buyer.id else {
            throw Problem.notFound("No payment with id \(body.paymentId.uuidString.lowercased()).")
        }
        guard let intentId = payment.intentId else { throw Problem.conflict("Create the payment intent first.") }
        guard payment.status.isPayable else {
            throw Problem.conflict("This payment is \(payment.status.rawValue).", extensions: ["currentState": payment.status.rawValue])
        }
        do {
            let intent = try await gateway.confirmIntent(
                id: intentId, paymentMethod: body.paymentMethod,
                idempotencyKey: "payment-\(payment.id.uuidString.lowercased())-confirm-\(body.paymentMethod)")
            return ConfirmResponse(paymentId: payment.id, intentStatus: intent.status, paymentStatus: payment.status.rawValue)
        } catch {
            throw Self.problem(for: error, logger: context.logger)
        }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Payment> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        let all: Bool
        switch query.get("as") {
        case nil: all = false
        case "admin":
            guard user.isAdmin else { throw Problem.forbidden("Only admins can list every payment.") }
            all = true
        default: throw Problem.badRequest("as must be admin or left out.")
        }
        let filter = try PaymentFilter(query: query, buyerId: all ? nil : user.id)
        let payments = try await postgres.withConnection { try await store.list(filter, on: $0) }
        return Page(
            rows: payments, limit: filter.page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    func show(_ context: AppRequestContext) async throws -> PaymentDetail {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        return try await postgres.withConnection { connection in
            guard let payment = try await store.find(id: id, on: connection), payment.buyerId == user.id || user.isAdmin else {
                throw Problem.notFound("No payment with id \(id.uuidString.lowercased()).")
            }
            return PaymentDetail(payment: payment, trail: try await store.trail(of: id, on: connection))
        }
    }

    /// Maps a gateway error to what a client may see: declines as 402 with a safe message.
    static func problem(for error: StripeError, logger: Logger) -> Problem {
        logger.warning("gateway call failed", metadata: ["error": "\(error)"])
        switch error.kind {
        case .cardDeclined:
            return Problem(
                status: .init(code: 402), type: "/problems/card-declined", title: "Card declined", detail: error.userMessage,
                extensions: ["declineCode": error.declineCode ?? "generic_decline"])
        case .invalidRequest:
            return Problem.validation(error.code == "resource_missing" ? "Unknown payment method." : error.userMessage)
        default:
            return Problem(status: .badGateway, type: "/problems/gateway", title: "Payment provider unavailable", detail: error.userMessage)
        }
    }
}
