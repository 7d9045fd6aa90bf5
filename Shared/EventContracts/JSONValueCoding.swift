import Foundation

/// Converts `Codable` values to and from `JSONValue` directly, with the same results as going
/// through JSON text with `EventCoding`'s encoder and decoder, and without the text.
///
/// An event's payload became a `JSONValue` by encoding it to JSON and decoding that again, and a
/// consumer read it back by encoding the `JSONValue` and decoding the text as its type: two
/// passes over bytes per conversion, and decoding a `JSONValue` from text tries each kind in
/// turn, throwing a `DecodingError` for every miss. Those conversions were about a fifth of
/// the services' JSON work under load.
///
/// Conventions kept from the text round trip: dates are ISO 8601 texts with milliseconds
/// (`EventCoding`), `Data` is base64, a `URL` its absolute string; a floating-point value with no
/// fraction that fits in 64 bits becomes `.integer` (the text `3` decodes as an integer); an
/// integer is read from `.number` when it has no fraction and fits; a value that encoded nothing
/// is an empty object. Nothing traps: values out of range are decoding errors.
enum JSONValueCoding {
    static func encode<Value: Encodable>(_ value: Value) throws -> JSONValue {
        try ValueEncoder.encode(value)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from value: JSONValue) throws -> Value {
        try ValueDecoder.unbox(value, as: type, path: [])
    }
}

/// An array index or a name in a coding path.
struct IndexOrNameKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ name: String) {
        stringValue = name
        intValue = nil
    }
    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }
    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
