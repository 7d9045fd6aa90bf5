import Foundation

/// A balance import from another marketplace: rows of (external id, buyer id, currency, amount in
/// minor units), read from CSV (`external_id,buyer_id,currency,amount` header) or JSON
/// (`{"rows":[{"externalId":…,"buyerId":…,"currency":…,"amount":…}]}`), and every problem found,
/// by line. Pure: the dry run and the apply both start here.
struct WalletImport: Sendable, Equatable {
    struct Row: Sendable, Equatable, Codable {
        var externalId: String
        var buyerId: String
        var currency: String
        var amount: Int64
    }

    struct Problem: Sendable, Equatable, Encodable {
        /// 1-based: the CSV line (the header is line 1) or the JSON row's position.
        var line: Int
        var externalId: String?
        var message: String
    }

    static let maximumRows = 10_000
    /// Per row: 10 billion minor units (100 million dollars), far from overflowing any total.
    static let maximumAmount: Int64 = 10_000_000_000
    static let csvHeader = ["external_id", "buyer_id", "currency", "amount"]

    var rows: [Row]
    var problems: [Problem]
    /// What makes the body itself unreadable as an import (not an object of rows, a row of the
    /// wrong types, a wrong header): refused outright, even in a dry run.
    var malformed: [Problem] = []

    /// Totals per currency of the rows that are valid.
    var totals: [String: Int64] {
        rows.reduce(into: [:]) { $0[$1.currency, default: 0] += $1.amount }
    }

    /// Checks each row, then the file as a whole (duplicate external ids, size).
    init(rows candidates: [(line: Int, row: Row?, problem: String?)]) {
        var rows: [Row] = []
        var problems: [Problem] = []
        var seen: [String: Int] = [:]
        for candidate in candidates {
            guard let row = candidate.row else {
                problems.append(Problem(line: candidate.line, externalId: nil, message: candidate.problem ?? "unreadable row"))
                continue
            }
            if let message = Self.problem(in: row) {
                problems.append(Problem(line: candidate.line, externalId: row.externalId.isEmpty ? nil : row.externalId, message: message))
            } else if let first = seen[row.externalId] {
                problems.append(Problem(line: candidate.line, externalId: row.externalId, message: "external id repeats line \(first)"))
            } else {
                seen[row.externalId] = candidate.line
                rows.append(row)
            }
        }
        if candidates.isEmpty { problems.append(Problem(line: 1, externalId: nil, message: "no rows")) }
        if candidates.count > Self.maximumRows {
            problems.append(Problem(line: 1, externalId: nil, message: "at most \(Self.maximumRows) rows per import; split the file"))
        }
        self.rows = rows
        self.problems = problems
    }

    /// An unreadable body: one malformed problem, no rows.
    static func unreadable(_ message: String, line: Int = 1) -> WalletImport {
        var result = WalletImport(rows: [(line, nil, message)])
        result.malformed = result.problems
        return result
    }

    /// Text Postgres can store and people can read: no control characters (NUL above all).
    static func isPlain(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    static func problem(in row: Row) -> String? {
        if !(1...200).contains(row.externalId.count) || !isPlain(row.externalId) { return "external id must be 1 to 200 characters, no control characters" }
        if !(1...200).contains(row.buyerId.count) || !isPlain(row.buyerId) { return "buyer id must be 1 to 200 characters, no control characters" }
        if row.buyerId.contains(":") || row.buyerId.contains(where: \.isWhitespace) { return "buyer id must not contain ':' or spaces" }
        if row.currency.count != 3 || !row.currency.allSatisfy({ $0.isASCII && $0.isLowercase }) {
            return "currency must be three lowercase letters (ISO 4217, e.g. usd)"
        }
        if !(1...Self.maximumAmount).contains(row.amount) { return "amount must be a whole number of minor units from 1 to \(Self.maximumAmount)" }
        return nil
    }

    /// `external_id,buyer_id,currency,amount`, one row per line (no quoting: ids with commas are refused).
    static func csv(_ text: String) -> WalletImport {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        guard let header = lines.first else { return WalletImport(rows: []) }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard names == csvHeader else {
            return unreadable("the header must be \(csvHeader.joined(separator: ","))")
        }
        var candidates: [(line: Int, row: Row?, problem: String?)] = []
        for (index, line) in lines.dropFirst().enumerated() where candidates.count <= maximumRows {
            let number = index + 2
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 4 else {
                candidates.append((number, nil, "expected 4 fields, found \(fields.count)"))
                continue
            }
            guard let amount = Int64(fields[3]) else {
                candidates.append((number, nil, "amount \(String(fields[3].prefix(40))) is not a whole number of minor units"))
                continue
            }
            candidates.append((number, Row(externalId: fields[0], buyerId: fields[1], currency: fields[2], amount: amount), nil))
        }
        return WalletImport(rows: candidates)
    }

    /// `{"rows":[…]}`; a row of the wrong shape makes the body unreadable (with its position).
    static func json(_ data: Data) -> WalletImport {
        guard let body = try? JSONDecoder().decode(JSONRows.self, from: data) else {
            return unreadable(#"the body must be {"rows": [{"externalId", "buyerId", "currency", "amount"}, …]}"#)
        }
        guard body.rows.count <= maximumRows else { return unreadable("at most \(maximumRows) rows per import; split the file") }
        var candidates: [(line: Int, row: Row?, problem: String?)] = []
        for (index, item) in body.rows.enumerated() {
            guard let row = item.row else {
                return unreadable("row \(index + 1): externalId, buyerId and currency must be strings, amount a whole number", line: index + 1)
            }
            candidates.append((index + 1, row, nil))
        }
        return WalletImport(rows: candidates)
    }

    /// Decoded field by field with their own types (fast for 10,000 rows; a generic JSON tree was
    /// not): a row that is not an object of those types decodes as nil instead of failing them all.
    private struct JSONRows: Decodable {
        struct Item: Decodable {
            var row: Row?

            enum Keys: String, CodingKey { case externalId, buyerId, currency, amount }

            init(from decoder: any Decoder) throws {
                do {
                    let fields = try decoder.container(keyedBy: Keys.self)
                    row = Row(
                        externalId: try fields.decode(String.self, forKey: .externalId), buyerId: try fields.decode(String.self, forKey: .buyerId),
                        currency: try fields.decode(String.self, forKey: .currency), amount: try fields.decode(Int64.self, forKey: .amount))
                } catch {
                    row = nil
                }
            }
        }

        var rows: [Item]
    }
}
