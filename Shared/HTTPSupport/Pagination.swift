import Foundation
import Hummingbird

/// An opaque keyset cursor over (createdAt, id), shared by every paginated list.
public struct PageCursor: Sendable, Equatable {
    public var createdAt: Date
    public var id: UUID

    public var token: String { KeyedPageCursor(createdAt: createdAt, key: id.uuidString.lowercased()).token }

    public init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    public init(token: String) throws {
        let keyed = try KeyedPageCursor(token: token)
        guard let id = UUID(uuidString: keyed.key) else { throw Problem.badRequest("The cursor is not valid.") }
        self.init(createdAt: keyed.createdAt, id: id)
    }
}

/// A keyset cursor over (createdAt, key) for rows keyed by text (e.g. sellers by their id).
public struct KeyedPageCursor: Sendable, Equatable {
    public var createdAt: Date
    public var key: String

    /// `<epoch microseconds>.<key>`, base64url so clients treat it as opaque.
    public var token: String {
        let micros = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        return Data("\(micros).\(key)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// 1970-01-01 to 9999-12-31: every timestamp we write, and far inside what Date and Postgres
    /// can encode (a cursor holding Int64.min used to trap in the query's Date encoding).
    static let validMicroseconds: ClosedRange<Int64> = 0...253_402_300_799_999_999

    public init(createdAt: Date, key: String) {
        self.createdAt = createdAt
        self.key = key
    }

    /// Refuses (400) tokens that do not decode, dates out of range and keys over 200 characters.
    public init(token: String) throws {
        guard token.utf8.count <= 400 else { throw Problem.badRequest("The cursor is not valid.") }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw Problem.badRequest("The cursor is not valid.")
        }
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), Self.validMicroseconds.contains(micros),
              (1...200).contains(parts[1].count)
        else {
            throw Problem.badRequest("The cursor is not valid.")
        }
        self.init(createdAt: Date(timeIntervalSince1970: Double(micros) / 1_000_000), key: String(parts[1]))
    }
}

extension Date {
    /// Dates a request may carry into a query: 1970-01-01 to 9999-12-31 (Date's own range is far
    /// wider than what converts to Postgres' microseconds without trapping).
    public static let storableRange = Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 253_402_300_799.999_999)
}

/// One page of results and the cursor for the next, if any.
public struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// A page from up to `limit + 1` fetched rows: the extra row only says there is more.
    public init<Row>(rows: [Row], limit: Int, cursor: (Row) -> PageCursor, item: (Row) -> Item) {
        self.init(rows: rows, limit: limit, token: { cursor($0).token }, item: item)
    }

    /// The same, with any cursor's token (e.g. a `KeyedPageCursor`).
    public init<Row>(rows: [Row], limit: Int, token: (Row) -> String, item: (Row) -> Item) {
        let shown = Array(rows.prefix(limit))
        self.items = shown.map(item)
        self.nextCursor = rows.count > limit ? shown.last.map(token) : nil
    }
}

/// Reads `limit` (1–100, default 20) and `cursor` from the query.
public struct PageRequest: Sendable {
    public var limit: Int
    public var cursor: PageCursor?

    public init(limit: String?, cursor: String?) throws {
        self.limit = try Self.limit(limit)
        self.cursor = try cursor.map(PageCursor.init(token:))
    }

    /// `limit` alone, for lists with another kind of cursor.
    public static func limit(_ text: String?) throws -> Int {
        guard let text else { return 20 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw Problem.badRequest("limit must be a whole number from 1 to 100.")
        }
        return value
    }
}
