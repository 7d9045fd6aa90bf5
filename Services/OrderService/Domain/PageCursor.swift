import Foundation
import HTTPSupport
import Hummingbird

/// An opaque keyset cursor over (createdAt, id), newest first.
struct PageCursor: Sendable, Equatable {
    var createdAt: Date
    var id: UUID

    /// `<epoch microseconds>.<uuid>`, base64url so clients treat it as opaque.
    var token: String {
        let micros = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        return Data("\(micros).\(id.uuidString.lowercased())".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    init(token: String) throws {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw Problem.badRequest("The cursor is not valid.")
        }
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
            throw Problem.badRequest("The cursor is not valid.")
        }
        self.init(createdAt: Date(timeIntervalSince1970: Double(micros) / 1_000_000), id: id)
    }
}

/// One page of results and the cursor for the next, if any.
struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    var items: [Item]
    var nextCursor: String?
}

/// Reads `limit` (1–100, default 20) and `cursor` from the query.
struct PageRequest: Sendable {
    var limit: Int
    var cursor: PageCursor?

    init(limit: String?, cursor: String?) throws {
        if let limit {
            guard let value = Int(limit), (1...100).contains(value) else {
                throw Problem.badRequest("limit must be a whole number from 1 to 100.")
            }
            self.limit = value
        } else {
            self.limit = 20
        }
        self.cursor = try cursor.map(PageCursor.init(token:))
    }
}
