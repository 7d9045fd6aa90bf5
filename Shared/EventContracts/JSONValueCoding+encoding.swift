import Foundation

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

/// The `Encoder` behind `JSONValueCoding.encode`.
final class ValueEncoder: Encoder {
    /// The value as a `JSONValue`; an error when it encoded nothing.
    static func encode<Value: Encodable>(_ value: Value) throws -> JSONValue {
        let slot = try box(value, path: [])
        guard case .empty = slot else { return slot.resolved }
        throw EncodingError.invalidValue(
            value, .init(codingPath: [], debugDescription: "Top-level \(Value.self) did not encode any values."))
    }


    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    fileprivate var slot: Slot = .empty

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
    fileprivate static func box<Value: Encodable>(_ value: Value, path: @autoclosure () -> [any CodingKey]) throws -> Slot {
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
