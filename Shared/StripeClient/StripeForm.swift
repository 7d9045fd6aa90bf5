/// A value in a Stripe request body, which is `application/x-www-form-urlencoded` with
/// bracketed keys for nesting: `metadata[order_id]=…`, `items[0][price]=…`.
public indirect enum StripeFormValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral
{
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case array([StripeFormValue])
    case dictionary([(String, StripeFormValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// String metadata, keys sorted so the same request always encodes the same way.
    public static func metadata(_ values: [String: String]) -> StripeFormValue {
        .dictionary(values.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    public static func == (lhs: StripeFormValue, rhs: StripeFormValue) -> Bool {
        StripeForm.encode([("v", lhs)]) == StripeForm.encode([("v", rhs)])
    }
}

/// Encodes Stripe request bodies.
public enum StripeForm {
    /// `key=value` pairs joined by `&`, in the given order, nested keys flattened with brackets.
    public static func encode(_ fields: [(String, StripeFormValue)]) -> String {
        var pairs: [(String, String)] = []
        for (key, value) in fields { flatten(key, value, into: &pairs) }
        return pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    private static func flatten(_ key: String, _ value: StripeFormValue, into pairs: inout [(String, String)]) {
        switch value {
        case .string(let string): pairs.append((key, string))
        case .integer(let integer): pairs.append((key, String(integer)))
        case .bool(let bool): pairs.append((key, bool ? "true" : "false"))
        case .array(let values):
            for (index, element) in values.enumerated() { flatten("\(key)[\(index)]", element, into: &pairs) }
        case .dictionary(let entries):
            for (name, element) in entries { flatten("\(key)[\(name)]", element, into: &pairs) }
        }
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986), as form bodies require.
    public static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                result.append(Character(UnicodeScalar(byte)))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
