import EventContracts
import Foundation
import PostgresNIO

/// Builds the values templates see: amounts formatted for their currency, dates in UTC, links.
struct EmailModels: Sendable {
    let linkBaseURL: String

    func link(_ path: String) -> String {
        linkBaseURL + path
    }

    func order(_ order: ProjectedOrder) -> [String: Any] {
        var model: [String: Any] = [
            "orderNumber": order.orderNumber,
            "url": link("/orders/\(order.id.uuidString.lowercased())"),
            "items": order.items.map { item in
                [
                    "title": item.title, "quantity": item.quantity,
                    "unitPrice": MoneyFormat.format(item.unitPriceAmount, order.currency),
                    "lineTotal": MoneyFormat.format(item.lineTotalAmount, order.currency),
                ] as [String: Any]
            },
            "subtotal": MoneyFormat.format(order.subtotalAmount, order.currency),
            "total": MoneyFormat.format(order.totalAmount, order.currency),
        ]
        model["carrier"] = order.carrier
        model["trackingNumber"] = order.trackingNumber
        return model
    }

    func shipTo(_ address: ShippingAddress) -> [String: Any] {
        var model: [String: Any] = [
            "name": address.name, "line1": address.line1, "city": address.city, "postalCode": address.postalCode,
            "country": address.country.uppercased(),
        ]
        model["line2"] = address.line2
        return model
    }

    func receipt(_ receipt: Receipt) -> [String: Any] {
        let id = receipt.id.uuidString.lowercased()
        return [
            "number": receipt.receiptNumber,
            "total": MoneyFormat.format(receipt.totalAmount, receipt.currency),
            "refunded": MoneyFormat.format(receipt.refundedAmount, receipt.currency),
            "net": MoneyFormat.format(receipt.netAmount, receipt.currency),
            "url": link("/receipts/\(id)"),
            "pdfUrl": link("/api/v1/receipts/\(id)/pdf"),
        ]
    }

    /// The receipt's orders with their lines (only called once every order is known).
    func receiptOrders(_ receipt: Receipt) -> [[String: Any]] {
        receipt.orders.compactMap { part in
            guard let projected = part.projected else { return nil }
            var model = order(projected)
            model["total"] = MoneyFormat.format(part.amount, receipt.currency)
            return model
        }
    }

    /// `2026-11-27 16:05 UTC`.
    static func date(_ date: Date) -> String {
        let time = UTCTime(date)
        return "\(UTCTime.fourDigits(time.year))-\(UTCTime.twoDigits(time.month))-"
            + "\(UTCTime.twoDigits(time.day)) \(UTCTime.twoDigits(time.hour)):\(UTCTime.twoDigits(time.minute)) UTC"
    }
}

/// Renders an email and queues it in the event's transaction.
struct Notifier: Sendable {
    let renderer: EmailRenderer
    let store: NotificationStore
    let models: EmailModels
    let adminEmail: String

    var admin: Recipient { .admin(email: adminEmail) }

    func queue(
        _ kind: EmailKind, to recipient: Recipient, order: UUID?, source: UUID, model: [String: Any],
        on connection: PostgresConnection
    ) async throws {
        let email = try renderer.render(kind, model)
        try await store.enqueue(email, kind: kind, to: recipient, orderId: order, source: source, on: connection)
    }
}
