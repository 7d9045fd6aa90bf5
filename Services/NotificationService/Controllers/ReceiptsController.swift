import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import PostgresNIO

/// `/api/v1/receipts/{id}` (JSON) and `/api/v1/receipts/{id}/pdf`: for the buyer or an admin;
/// anyone else gets the same 404 as for a receipt that does not exist.
struct ReceiptsController: Sendable {
    let store: ReceiptStore
    let postgres: PostgresClient
    let platform: ReceiptDocument.Platform

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("receipts/{id}") { _, context in try await document(context) }
        group.get("receipts/{id}/pdf") { _, context in try await pdf(context) }
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
