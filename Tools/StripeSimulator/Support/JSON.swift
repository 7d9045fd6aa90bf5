import EventContracts
import Foundation

/// The simulator's JSON: keys sorted and slashes unescaped, so answers are stable and readable.
enum JSON {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func bytes(_ value: JSONValue) -> [UInt8] {
        // Encoding a JSONValue cannot fail: it holds only JSON types.
        Array((try? encoder.encode(value)) ?? Data("null".utf8))
    }

    static func bytes<Value: Encodable>(encoding value: Value) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }
}

extension Optional where Wrapped == String {
    /// The string, or JSON null.
    var json: JSONValue { map(JSONValue.string) ?? .null }
}

extension Optional where Wrapped == Int64 {
    var json: JSONValue { map(JSONValue.integer) ?? .null }
}

extension Dictionary where Key == String, Value == String {
    var json: JSONValue { .object(mapValues(JSONValue.string)) }
}

extension Array where Element == String {
    var json: JSONValue { .array(map(JSONValue.string)) }
}

/// Stripe's list object: `{"object": "list", "data": [...], "has_more": …, "url": …}`.
func stripeList(_ data: [JSONValue], hasMore: Bool, url: String) -> JSONValue {
    ["object": "list", "data": .array(data), "has_more": .bool(hasMore), "url": .string(url)]
}
