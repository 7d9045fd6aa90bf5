import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// A payment with its trail of what happened.
struct PaymentDetail: Encodable, ResponseEncodable {
    struct Step: Encodable {
        var kind: String
        var detail: String?
        var at: Date
    }

    var payment: Payment
    var trail: [Step]
}

/// `?status=&from=&to=&sort=asc|desc&limit=&cursor=` for the payment history.
struct PaymentFilter: Sendable {
    var buyerId: String?
    var status: PaymentStatus?
    var from: Date?
    var to: Date?
    var ascending: Bool
    var page: PageRequest

    init(query: Parameters, buyerId: String?) throws {
        self.buyerId = buyerId
        status = try query.get("status").map {
            guard let status = PaymentStatus(rawValue: $0) else { throw Problem.badRequest("Unknown status \($0).") }
            return status
        }
        let dates = Date.ISO8601FormatStyle()
        from = try query.get("from").map { text in
            guard let date = try? dates.parse(text), Date.storableRange.contains(date) else { throw Problem.badRequest("from must be an ISO 8601 date-time from 1970 to 9999.") }
            return date
        }
        to = try query.get("to").map { text in
            guard let date = try? dates.parse(text), Date.storableRange.contains(date) else { throw Problem.badRequest("to must be an ISO 8601 date-time from 1970 to 9999.") }
            return date
        }
        switch query.get("sort") ?? "desc" {
        case "asc": ascending = true
        case "desc": ascending = false
        default: throw Problem.badRequest("sort must be asc or desc.")
        }
        page = try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
    }
}

extension PaymentStore {
    func list(_ filter: PaymentFilter, on connection: PostgresConnection) async throws -> [Payment] {
        let order = filter.ascending ? "ASC" : "DESC"
        let comparison = filter.ascending ? ">" : "<"
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM payments
            WHERE (\(filter.buyerId)::text IS NULL OR buyer_id = \(filter.buyerId))
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
              AND (\(filter.from)::timestamptz IS NULL OR created_at >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR created_at < \(filter.to))
              AND (\(filter.page.cursor?.createdAt)::timestamptz IS NULL
                   OR (created_at, id) \(unescaped: comparison) (\(filter.page.cursor?.createdAt), \(filter.page.cursor?.id)))
            ORDER BY created_at \(unescaped: order), id \(unescaped: order) LIMIT \(filter.page.limit + 1)
            """, logger: logger
        ).collect()
        return try await withOrders(try rows.map(Self.decode), on: connection)
    }

    func trail(of paymentId: UUID, on connection: PostgresConnection) async throws -> [PaymentDetail.Step] {
        try await connection.query(
            "SELECT kind, detail, created_at FROM payment_trail WHERE payment_id = \(paymentId) ORDER BY id", logger: logger
        ).decode((String, String?, Date).self).all().map { PaymentDetail.Step(kind: $0.0, detail: $0.1, at: $0.2) }
    }
}
