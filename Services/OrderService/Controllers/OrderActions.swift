import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// The moves people make on an order: ship, add tracking, confirm delivery, cancel.
/// Non-parties get 404 (the order's existence is not revealed); a party without the right
/// role for the move gets 403; admins can make any move but must give a reason.
struct OrderActions: Sendable {
    let store: OrderStore
    let postgres: PostgresClient
    let settings: OrderSettings

    struct Ship: Decodable {
        var carrier: String
        var trackingNumber: String
        var reason: String?
    }

    struct Tracking: Decodable {
        var status: String
        var location: String?
        var at: Date?
    }

    struct Reason: Decodable {
        var reason: String?
    }

    func ship(_ request: Request, _ context: AppRequestContext) async throws -> OrderResponse {
        let body = try await request.decode(as: Ship.self, context: context)
        let carrier = try Self.text(body.carrier, "carrier", max: 100)
        let tracking = try Self.text(body.trackingNumber, "trackingNumber", max: 100)
        return try await act(context, allowed: [.seller], reason: body.reason) { order, cause, connection in
            try await store.transition(order, to: .shipped, cause: cause, on: connection) {
                $0.carrier = carrier
                $0.trackingNumber = tracking
                $0.autoConfirmAt = Date().addingTimeInterval(settings.inspectionWindow)
            }
        }
    }

    func track(_ request: Request, _ context: AppRequestContext) async throws -> OrderResponse {
        let body = try await request.decode(as: Tracking.self, context: context)
        let status = try Self.text(body.status, "status", max: 100)
        let location = try body.location.map { try Self.text($0, "location", max: 200) }
        return try await act(context, allowed: [.seller], reason: "tracking update") { order, cause, connection in
            guard order.status == .shipped || order.status == .delivered else {
                throw Problem.conflict(
                    "Tracking can be added once the order has shipped; it is \(order.status.rawValue).",
                    extensions: ["currentState": order.status.rawValue])
            }
            try await store.addTracking(order.id, status: status, location: location, at: body.at ?? Date(), on: connection)
            try await store.publish(order, type: "order.tracking_updated", from: order.status, cause: cause, on: connection)
            return order
        }
    }

    func confirmDelivery(_ request: Request, _ context: AppRequestContext) async throws -> OrderResponse {
        let body = try await Self.optionalReason(request, context)
        return try await act(context, allowed: [.buyer], reason: body) { order, cause, connection in
            try await store.transition(order, to: .delivered, cause: cause, on: connection) { $0.autoConfirmAt = nil }
        }
    }

    /// Before payment the buyer may cancel; after payment and before shipment the buyer or the
    /// seller may, and the cancellation event asks for a full refund.
    func cancel(_ request: Request, _ context: AppRequestContext) async throws -> OrderResponse {
        let reason = try await Self.optionalReason(request, context)
        return try await act(context, allowed: [.buyer, .seller], reason: reason) { order, cause, connection in
            switch order.status {
            case .pendingPayment:
                guard cause.actor.hasPrefix("buyer:") || cause.actor.hasPrefix("admin:") else {
                    throw Problem.forbidden("Only the buyer can cancel an order that is not paid yet.")
                }
                try await store.moveStock(.release, of: [order], on: connection)
                return try await store.transition(order, to: .cancelled, cause: cause, on: connection)
            case .paid:
                try await store.moveStock(.restock, of: [order], on: connection)
                return try await store.transition(order, to: .cancelled, cause: cause, refundRequired: true, on: connection)
            default:
                throw Problem.conflict(
                    "An order in state \(order.status.rawValue) can no longer be cancelled.",
                    extensions: ["currentState": order.status.rawValue])
            }
        }
    }

    enum Party { case buyer, seller }

    /// Locks the order, checks who may act, runs the move in one transaction, returns the result.
    private func act(
        _ context: AppRequestContext, allowed: Set<Party>, reason: String?,
        _ move: @Sendable (Order, Cause, PostgresConnection) async throws -> Order
    ) async throws -> OrderResponse {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        return try await postgres.inTransaction(logger: context.logger) { connection in
            guard let order = try await store.lock(id, on: connection), order.isVisible(to: user.id, isAdmin: user.isAdmin) else {
                throw Problem.notFound("No order with id \(id.uuidString.lowercased()).")
            }
            let actor: String
            if allowed.contains(.seller) && user.id == order.sellerId && user.roles.contains(.seller) {
                actor = "seller:\(user.id)"
            } else if allowed.contains(.buyer) && user.id == order.buyerId && user.roles.contains(.buyer) {
                actor = "buyer:\(user.id)"
            } else if user.isAdmin {
                guard let reason, !reason.isEmpty else { throw Problem.validation("Admins must give a reason.") }
                actor = "admin:\(user.id)"
            } else {
                throw Problem.forbidden("You cannot do this to this order.")
            }
            let cause = Cause(actor: actor, reason: reason, correlationId: context.requestId, causationId: nil)
            let updated = try await move(order, cause, connection)
            return try await store.detail(updated, on: connection)
        }
    }

    static func text(_ value: String, _ field: String, max: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...max).contains(trimmed.count) else { throw Problem.validation("\(field) must be 1 to \(max) characters.") }
        return trimmed
    }

    /// An optional `{ "reason": … }` body; an empty body is fine.
    static func optionalReason(_ request: Request, _ context: AppRequestContext) async throws -> String? {
        let raw = try await request.body.collect(upTo: 64 * 1024)
        guard raw.readableBytes > 0 else { return nil }
        return try EventCoding.decoder.decode(Reason.self, from: Data(buffer: raw)).reason
    }
}
