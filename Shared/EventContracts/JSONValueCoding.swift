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
        let slot = try ValueEncoder.box(value, path: [])
        guard case .empty = slot else { return slot.resolved }
        throw EncodingError.invalidValue(
            value, .init(codingPath: [], debugDescription: "Top-level \(Value.self) did not encode any values."))
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from value: JSONValue) throws -> Value {
        try ValueDecoder.unbox(value, as: type, path: [])
    }
}

// MARK: - Encoding

/// What an encoder or container produced: a finished value, or an object or array that
/// nested containers may still be filling in.
private enum Slot {
    case empty
    case value(JSONValue)
    case object(ObjectBox)
    case array(ArrayBox)
    /// A super encoder's value, whatever it turns out to be.
    case encoder(ValueEncoder)

    var resolved: JSONValue {
        switch self {
        case .empty: return .object([:])
        case .value(let value): return value
        case .object(let box): return .object(box.entries.mapValues(\.resolved))
        case .array(let box): return .array(box.items.map(\.resolved))
        case .encoder(let encoder): return encoder.slot.resolved
        }
    }
}

private final class ObjectBox {
    var entries: [String: Slot] = [:]
}

private final class ArrayBox {
    var items: [Slot] = []
}

private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var slot: Slot = .empty

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(object: objectBox(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(array: arrayBox(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }

    private func objectBox() -> ObjectBox {
        if case .object(let box) = slot { return box }
        let box = ObjectBox()
        slot = .object(box)
        return box
    }

    private func arrayBox() -> ArrayBox {
        if case .array(let box) = slot { return box }
        let box = ArrayBox()
        slot = .array(box)
        return box
    }

    /// The JSON form of one value: the types `EventCoding` treats specially, then the value's
    /// own `encode(to:)`.
    static func box<Value: Encodable>(_ value: Value, path: @autoclosure () -> [any CodingKey]) throws -> Slot {
        if Value.self == String.self { return .value(.string(value as! String)) }
        if Value.self == Int64.self { return .value(.integer(value as! Int64)) }
        if Value.self == Int.self { return .value(.integer(Int64(value as! Int))) }
        if Value.self == JSONValue.self { return .value(value as! JSONValue) }
        if Value.self == UUID.self { return .value(.string((value as! UUID).uuidString)) }
        if Value.self == Date.self { return .value(.string(EventCoding.format(value as! Date))) }
        if Value.self == URL.self { return .value(.string((value as! URL).absoluteString)) }
        if Value.self == Data.self { return .value(.string((value as! Data).base64EncodedString())) }
        if Value.self == Decimal.self { return .value(number(text: (value as! Decimal).description)) }
        let encoder = ValueEncoder(codingPath: path())
        try value.encode(to: encoder)
        return encoder.slot
    }

    static func box<Number: BinaryInteger>(_ value: Number) -> JSONValue {
        if let exact = Int64(exactly: value) { return .integer(exact) }
        return .number(Double(value))
    }

    static func box<Number: BinaryFloatingPoint>(_ value: Number, path: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: path, debugDescription: "Unable to encode \(Number.self).\(value) directly in JSON."))
        }
        let double = Double(value)
        // JSON text writes 3.0 as `3`, which reads back as an integer.
        if double.rounded(.towardZero) == double, let exact = Int64(exactly: double) { return .integer(exact) }
        return .number(double)
    }

    private static func number(text: String) -> JSONValue {
        if let integer = Int64(text) { return .integer(integer) }
        return .number(Double(text) ?? 0)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectBox
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) { object.entries[key.stringValue] = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try ValueEncoder.box(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try ValueEncoder.box(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(ValueEncoder.box(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.entries[key.stringValue] = try ValueEncoder.box(value, path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let box = ObjectBox()
        object.entries[key.stringValue] = .object(box)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: box, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let box = ArrayBox()
        object.entries[key.stringValue] = .array(box)
        return UnkeyedContainer(array: box, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let encoder = ValueEncoder(codingPath: codingPath + [IndexOrNameKey(name)])
        object.entries[name] = .encoder(encoder)
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { array.items.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexOrNameKey(index: array.items.count)] }
    private func append(_ value: JSONValue) { array.items.append(.value(value)) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try ValueEncoder.box(value, path: nextPath)) }
    mutating func encode(_ value: Float) throws { append(try ValueEncoder.box(value, path: nextPath)) }
    mutating func encode(_ value: Int) throws { append(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int16) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int32) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int64) throws { append(.integer(value)) }
    mutating func encode(_ value: UInt) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt8) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt16) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt32) throws { append(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt64) throws { append(ValueEncoder.box(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try ValueEncoder.box(value, path: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        let box = ObjectBox()
        array.items.append(.object(box))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: box, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let box = ArrayBox()
        array.items.append(.array(box))
        return UnkeyedContainer(array: box, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(codingPath: nextPath)
        array.items.append(.encoder(encoder))
        return encoder
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ value: JSONValue) { encoder.slot = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try ValueEncoder.box(value, path: codingPath)) }
    mutating func encode(_ value: Float) throws { set(try ValueEncoder.box(value, path: codingPath)) }
    mutating func encode(_ value: Int) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int16) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int32) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: Int64) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt8) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt16) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt32) throws { set(ValueEncoder.box(value)) }
    mutating func encode(_ value: UInt64) throws { set(ValueEncoder.box(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.slot = try ValueEncoder.box(value, path: codingPath)
    }
}

/// An array index or a name in a coding path.
private struct IndexOrNameKey: CodingKey {
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

// MARK: - Decoding

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw ValueDecoder.mismatch([String: Any].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedReader<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else {
            throw ValueDecoder.mismatch([Any].self, value, codingPath)
        }
        return UnkeyedReader(array: array, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleReader(value: value, codingPath: codingPath)
    }

    /// One value as the given type: the types `EventCoding` treats specially, then the type's
    /// own `init(from:)`.
    static func unbox<Value: Decodable>(_ value: JSONValue, as type: Value.Type, path: [any CodingKey]) throws -> Value {
        if Value.self == String.self { return try string(value, path) as! Value }
        if Value.self == Int64.self { return try integer(value, as: Int64.self, path) as! Value }
        if Value.self == Int.self { return try integer(value, as: Int.self, path) as! Value }
        if Value.self == JSONValue.self { return value as! Value }
        if Value.self == UUID.self {
            let text = try string(value, path)
            guard let uuid = UUID(uuidString: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: path, debugDescription: "Attempted to decode UUID from invalid UUID string."))
            }
            return uuid as! Value
        }
        if Value.self == Date.self {
            let text = try string(value, path)
            guard let date = EventCoding.parseDate(text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: path, debugDescription: "Expected an ISO 8601 date, got \(text)"))
            }
            return date as! Value
        }
        if Value.self == URL.self {
            guard let url = URL(string: try string(value, path)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "Invalid URL string."))
            }
            return url as! Value
        }
        if Value.self == Data.self {
            guard let data = Data(base64Encoded: try string(value, path)) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: path, debugDescription: "Encountered Data is not valid Base64."))
            }
            return data as! Value
        }
        if Value.self == Decimal.self {
            switch value {
            case .integer(let integer): return Decimal(integer) as! Value
            case .number(let number): return Decimal(number) as! Value
            default: throw mismatch(Decimal.self, value, path)
            }
        }
        return try Value(from: ValueDecoder(value: value, codingPath: path))
    }

    static func string(_ value: JSONValue, _ path: [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        return text
    }

    static func bool(_ value: JSONValue, _ path: [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path) }
        return flag
    }

    static func integer<Number: FixedWidthInteger>(_ value: JSONValue, as type: Number.Type, _ path: [any CodingKey]) throws -> Number {
        let exact: Number?
        switch value {
        case .integer(let integer): exact = Number(exactly: integer)
        case .number(let number): exact = Number(exactly: number)
        default: throw mismatch(Number.self, value, path)
        }
        guard let exact else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: path, debugDescription: "Parsed JSON number <\(value)> does not fit in \(Number.self)."))
        }
        return exact
    }

    static func floatingPoint<Number: BinaryFloatingPoint>(_ value: JSONValue, as type: Number.Type, _ path: [any CodingKey]) throws -> Number {
        switch value {
        case .integer(let integer): return Number(integer)
        case .number(let number): return Number(number)
        default: throw mismatch(Number.self, value, path)
        }
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        let found: String
        switch value {
        case .null: found = "null"
        case .bool: found = "bool"
        case .number, .integer: found = "number"
        case .string: found = "string"
        case .array: found = "array"
        case .object: found = "dictionary"
        }
        if case .null = value {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "Expected \(type) value but found null instead."))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected to decode \(type) but found \(found) instead."))
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try ValueDecoder.bool(value(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try ValueDecoder.string(value(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try ValueDecoder.floatingPoint(value(key), as: type, codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try ValueDecoder.floatingPoint(value(key), as: type, codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoder.unbox(value(key), as: type, path: codingPath + [key])
    }

    private func integer<Number: FixedWidthInteger>(_ type: Number.Type, _ key: Key) throws -> Number {
        try ValueDecoder.integer(value(key), as: type, codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [IndexOrNameKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let array: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(array: [JSONValue], codingPath: [any CodingKey]) {
        self.array = array
        self.codingPath = codingPath
    }

    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    private var path: [any CodingKey] { codingPath + [IndexOrNameKey(index: currentIndex)] }

    private mutating func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return array[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any?.self, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        guard array[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let path = self.path
        return try ValueDecoder.bool(next(type), path)
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let path = self.path
        return try ValueDecoder.string(next(type), path)
    }
    mutating func decode(_ type: Double.Type) throws -> Double { try floatingPoint(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try floatingPoint(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = self.path
        return try ValueDecoder.unbox(next(type), as: type, path: path)
    }

    private mutating func integer<Number: FixedWidthInteger>(_ type: Number.Type) throws -> Number {
        let path = self.path
        return try ValueDecoder.integer(next(type), as: type, path)
    }

    private mutating func floatingPoint<Number: BinaryFloatingPoint>(_ type: Number.Type) throws -> Number {
        let path = self.path
        return try ValueDecoder.floatingPoint(next(type), as: type, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let path = self.path
        return try ValueDecoder(value: next([String: Any].self), codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = self.path
        return try ValueDecoder(value: next([Any].self), codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = self.path
        return ValueDecoder(value: try next((any Decoder).self), codingPath: path)
    }
}

private struct SingleReader: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try ValueDecoder.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try ValueDecoder.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try ValueDecoder.floatingPoint(value, as: type, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try ValueDecoder.floatingPoint(value, as: type, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ValueDecoder.integer(value, as: type, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try ValueDecoder.unbox(value, as: type, path: codingPath) }
}
