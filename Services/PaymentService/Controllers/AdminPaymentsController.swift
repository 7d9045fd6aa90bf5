import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import StripeClient

/// `POST /api/v1/admin/payments/{id}/status` (admin, with a reason): moves a stuck payment along
/// its state machine after asking Stripe where its intent is (outside any transaction); the move
/// is written to the payment's trail and publishes the usual events.
struct AdminPaymentsController: Sendable {
    let store: PaymentStore
    let postgres: PostgresClient
    let gateway: any PaymentGateway

    struct Override: Decodable {
        var status: String
        var reason: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("admin/payments/{id}/status") { request, context in try await override(request, context) }
    }

    func override(_ request: Request, _ context: AppRequestContext) async throws -> PaymentDetail {
        let admin = try context.requireRole(.admin)
        let id = try context.parameters.require("id", as: UUID.self)
        let raw = try await request.body.collect(upTo: 16 * 1024)
        let body = try EventCoding.decoder.decode(Override.self, from: Data(buffer: raw))
        let reason = body.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count) else { throw Problem.validation("reason must be 1 to 500 characters.") }
        guard let wanted = PaymentStatus(rawValue: body.status), StatusOverride.settable.contains(wanted) else {
            throw Problem.validation("status must be failed, cancelled or succeeded (refunds move a payment to refunded).")
        }
        guard let before = try await postgres.withConnection({ try await store.find(id: id, on: $0) }) else {
            throw Problem.notFound("No payment with id \(id.uuidString.lowercased()).")
        }
        // Asked with no transaction open; the decision is checked again under the lock.
        var intent: PaymentIntent?
        if let intentId = before.intentId {
            do {
                intent = try await gateway.retrieveIntent(id: intentId)
            } catch {
                context.logger.warning("intent not retrieved for an override", metadata: ["error": "\(error)"])
                throw Problem(
                    status: .badGateway, type: "/problems/gateway", title: "Payment provider unavailable",
                    detail: "Stripe could not be asked where the intent is; nothing was changed. Try again.")
            }
        }
        let moved = try await postgres.inTransaction(logger: context.logger) { connection -> Bool in
            guard let payment = try await store.lock(id: id, on: connection) else {
                throw Problem.notFound("No payment with id \(id.uuidString.lowercased()).")
            }
            guard payment.intentId == before.intentId else {
                throw Problem.conflict("The payment changed meanwhile; try again.", extensions: ["currentState": payment.status.rawValue])
            }
            if let refusal = StatusOverride.check(from: payment.status, to: wanted, gatewayStatus: intent?.status) {
                throw Self.problem(refusal, current: payment.status)
            }
            let detail = "admin \(admin.id): \(reason) (Stripe: \(intent.map { "intent \($0.status)" } ?? "no intent"))"
            return try await store.move(
                payment, to: wanted, chargeId: wanted == .succeeded ? intent?.chargeId : nil,
                failureReason: wanted == .succeeded ? nil : "admin_override", detail: detail, correlationId: context.requestId,
                causationId: nil, on: connection)
        }
        guard moved else { throw Problem.conflict("The payment moved meanwhile; nothing was changed.") }
        context.logger.warning(
            "payment status overridden by an admin",
            metadata: ["payment_id": "\(id)", "from": "\(before.status.rawValue)", "to": "\(wanted.rawValue)", "admin": "\(admin.id)"])
        return try await postgres.withConnection { connection in
            guard let payment = try await store.find(id: id, on: connection) else { throw Problem.notFound("No payment.") }
            return PaymentDetail(payment: payment, trail: try await store.trail(of: id, on: connection))
        }
    }

    static func problem(_ refusal: StatusOverride.Refusal, current: PaymentStatus) -> Problem {
        switch refusal {
        case .notSettable(let status):
            return Problem.validation("\(status.rawValue) cannot be set by an admin.")
        case .notAFollowingState(let from, let to):
            return Problem.conflict(
                "A \(from.rawValue) payment does not move to \(to.rawValue).", extensions: ["currentState": from.rawValue])
        case .gatewayDisagrees(let gatewayStatus, let wanted):
            let stripe = gatewayStatus.map { "Stripe reports the intent \($0)" } ?? "The payment has no intent at Stripe"
            let why = wanted == .succeeded
                ? "a payment is marked succeeded only when Stripe has it succeeded."
                : "money moved or may still move, so it cannot be marked \(wanted.rawValue)."
            return Problem.conflict("\(stripe): \(why)", extensions: ["currentState": current.rawValue, "gatewayStatus": gatewayStatus ?? "none"])
        }
    }
}
