import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import PostgresNIO

/// `/api/v1/receipts/{id}` (JSON) and `/api/v1/receipts/{id}/pdf`: for the buyer or an admin;
/// anyone else gets the same 404 as for a receipt that does not exist. `/api/v1/receipts` lists
/// the caller's receipts, newest first (every buyer's with `as=admin`).
struct ReceiptsController: Sendable {
    let store: ReceiptStore
    let postgres: PostgresClient
    let platform: ReceiptDocument.Platform

    /// One line of the list; the document has the lines and refunds.
    struct Summary: Encodable, Sendable {
        var id: UUID
        /// The cursor's position; `receiptNumber` shows it.
        var number: Int64
        var receiptNumber: String
        var paymentId: UUID
        var checkoutId: UUID
        var buyerId: String?
        var currency: String
        var totalAmount: Int64
        var refundedAmount: Int64
        var netAmount: Int64
        var orderCount: Int
        var emailed: Bool
        var issuedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, receiptNumber, paymentId, checkoutId, buyerId, currency, totalAmount, refundedAmount, netAmount, orderCount, emailed,
                issuedAt
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("receipts") { request, context in try await list(request, context) }
        group.get("receipts/{id}") { _, context in try await document(context) }
        group.get("receipts/{id}/pdf") { _, context in try await pdf(context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Summary> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        var buyer: String? = user.id
        switch query.get("as") {
        case nil: break
        case "admin":
            guard user.isAdmin else { throw Problem.forbidden("as=admin needs the admin role.") }
            buyer = query.get("buyerId")
        default: throw Problem.badRequest("as must be admin or left out.")
        }
        if query.get("buyerId") != nil && query.get("as") == nil { throw Problem.badRequest("buyerId needs as=admin.") }
        if let buyer, !(1...200).contains(buyer.count) { throw Problem.badRequest("buyerId must be 1 to 200 characters.") }
        let limit = try PageRequest.limit(query.get("limit"))
        let before = try query.get("cursor").map { token in
            guard let number = Int64(try KeyedPageCursor(token: token).key) else { throw Problem.badRequest("The cursor is not valid.") }
            return number
        }
        let rows = try await postgres.withConnection { connection in
            try await store.summaries(buyerId: buyer, before: before, limit: limit, on: connection)
        }
        return Page(rows: rows, limit: limit, token: { KeyedPageCursor(createdAt: $0.issuedAt, key: String($0.number)).token }) { $0 }
    }

    func document(_ context: AppRequestContext) async throws -> ReceiptDocument {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw Problem.notFound("No such receipt.")
        }
        let receipt = try await postgres.withConnection { connection in
            try await store.receipt(id, on: connection)
        }
        guard let receipt, user.isAdmin || (receipt.buyerId != nil && receipt.buyerId == user.id) else {
            throw Problem.notFound("No such receipt.")
        }
        return ReceiptDocument(receipt, platform: platform)
    }

    func pdf(_ context: AppRequestContext) async throws -> Response {
        let document = try await document(context)
        let bytes = PDFWriter.document(document.pdfLines)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/pdf",
                .contentDisposition: "inline; filename=\"\(document.receiptNumber).pdf\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(bytes))))
    }
}
