import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// Disputes: the buyer opens one before release, the parties and admins add evidence, an admin
/// resolves it (refund, release or split).
struct DisputesController: Sendable {
    let disputes: DisputeStore
    let postgres: PostgresClient

    struct OpenDispute: Decodable {
        var orderId: UUID
        var reason: String
        var description: String
    }

    struct AddMessage: Decodable {
        var body: String
    }

    struct Resolve: Decodable {
        var outcome: DisputeOutcome
        var refundAmount: Int64?
        var note: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("disputes") { request, context in
            let buyer = try context.requireRole(.buyer)
            let body = try await Self.decode(OpenDispute.self, request, context)
            guard DisputeStore.reasons.contains(body.reason) else {
                throw Problem.validation("reason must be one of \(DisputeStore.reasons.sorted().joined(separator: ", ")).")
            }
            let description = try Self.text(body.description, "description", max: 5000)
            let dispute = try await postgres.inTransaction(logger: context.logger) { connection in
                try await disputes.open(
                    orderId: body.orderId, reason: body.reason, description: description, buyer: buyer,
                    cause: Cause(correlationId: context.requestId, causationId: nil), on: connection)
            }
            return EditedResponse(status: .created, response: dispute)
        }
        // The caller's own disputes, as buyer or seller, newest first (resolved ones too: the
        // escrow forgets its dispute once it is resolved).
        group.get("disputes") { request, context in
            let user = try context.requireUser()
            let query = request.uri.queryParameters
            let status = try Self.status(query.get("status"))
            let orderId = try query.get("orderId").map { text in
                guard let id = UUID(uuidString: text) else { throw Problem.badRequest("orderId must be a UUID.") }
                return id
            }
            let page = try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
            return try await postgres.withConnection {
                try await disputes.of(party: user.id, status: status, orderId: orderId, page: page, on: $0)
            }
        }
        group.get("disputes/{id}") { _, context in
            let user = try context.requireUser()
            let id = try context.parameters.require("id", as: UUID.self)
            guard let dispute = try await postgres.withConnection({ try await disputes.find(id, on: $0) }), dispute.visible(to: user) else {
                throw Problem.notFound("No dispute \(id.uuidString.lowercased()).")
            }
            return dispute
        }
        group.post("disputes/{id}/messages") { request, context in
            let user = try context.requireUser()
            let id = try context.parameters.require("id", as: UUID.self)
            let body = try await Self.decode(AddMessage.self, request, context)
            let text = try Self.text(body.body, "body", max: 5000)
            let dispute = try await postgres.inTransaction(logger: context.logger) { connection in
                try await disputes.addMessage(to: id, body: text, author: user, on: connection)
            }
            return EditedResponse(status: .created, response: dispute)
        }
        group.get("admin/disputes") { request, context in
            _ = try context.requireRole(.admin)
            let status = try Self.status(request.uri.queryParameters.get("status"))
            let page = try PageRequest(limit: request.uri.queryParameters.get("limit"), cursor: request.uri.queryParameters.get("cursor"))
            return try await postgres.withConnection { try await disputes.queue(status: status, page: page, on: $0) }
        }
        group.post("admin/disputes/{id}/resolve") { request, context in
            let admin = try context.requireRole(.admin)
            let id = try context.parameters.require("id", as: UUID.self)
            let body = try await Self.decode(Resolve.self, request, context)
            let note = try body.note.map { try Self.text($0, "note", max: 2000) }
            return try await postgres.inTransaction(logger: context.logger) { connection in
                try await disputes.resolve(
                    id, outcome: body.outcome, refundAmount: body.refundAmount, note: note, admin: admin,
                    cause: Cause(correlationId: context.requestId, causationId: nil), on: connection)
            }
        }
    }

    static func status(_ text: String?) throws -> String? {
        guard text == nil || text == "open" || text == "resolved" else { throw Problem.badRequest("status must be open or resolved.") }
        return text
    }

    static func decode<Body: Decodable>(_ type: Body.Type, _ request: Request, _ context: AppRequestContext) async throws -> Body {
        let raw = try await request.body.collect(upTo: 64 * 1024)
        return try EventCoding.decoder.decode(type, from: Data(buffer: raw))
    }

    static func text(_ value: String, _ field: String, max: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...max).contains(trimmed.count) else { throw Problem.validation("\(field) must be 1 to \(max) characters.") }
        // Postgres stores no NUL; other control characters (but line breaks and tabs) are noise.
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !"\n\r\t".unicodeScalars.contains($0) }) else {
            throw Problem.validation("\(field) must not contain control characters.")
        }
        return trimmed
    }
}
