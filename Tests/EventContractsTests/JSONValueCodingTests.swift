import EventContracts
import Foundation
import Testing

/// `JSONValue(encoding:)` and `JSONValue.decode(as:)` convert without JSON text; these tests hold
/// them to what the text round trip through `EventCoding` gives, value by value and error by error.
@Suite struct JSONValueCodingTests {
    enum Tone: String, Codable, Equatable { case calm, loud }

    struct Nested: Codable, Equatable {
        var label: String
        var counts: [Int]
        var byName: [String: Int64]
    }

    struct Everything: Codable, Equatable {
        var text: String
        var empty: String
        var integer: Int
        var big: Int64
        var small: Int8
        var unsigned: UInt64
        var whole: Double
        var fraction: Double
        var huge: Double
        var negativeZero: Double
        var single: Float
        var flag: Bool
        var when: Date
        var id: UUID
        var tone: Tone
        var bytes: Data
        var link: URL
        var present: String?
        var absent: String?
        var nested: Nested
        var list: [Nested]
        var matrix: [[Int64]]
        var optionals: [Int?]
        var raw: JSONValue
    }

    /// Encodes with nested containers, a super encoder and an explicit null, as hand-written
    /// `Codable` conformances do.
    struct HandWritten: Codable, Equatable {
        var name: String
        var pairs: [[String]]
        var note: String?

        enum CodingKeys: String, CodingKey { case name, inner, pairs, note }
        enum InnerKeys: String, CodingKey { case name }

        init(name: String, pairs: [[String]], note: String?) {
            self.name = name
            self.pairs = pairs
            self.note = note
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let inner = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            name = try inner.decode(String.self, forKey: .name)
            var outer = try container.nestedUnkeyedContainer(forKey: .pairs)
            var pairs: [[String]] = []
            while !outer.isAtEnd {
                var pair = try outer.nestedUnkeyedContainer()
                pairs.append([try pair.decode(String.self), try pair.decode(String.self)])
            }
            self.pairs = pairs
            note = try container.decodeIfPresent(String.self, forKey: .note)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            var inner = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            try inner.encode(name, forKey: .name)
            var outer = container.nestedUnkeyedContainer(forKey: .pairs)
            for pair in pairs {
                var nested = outer.nestedUnkeyedContainer()
                for part in pair { try nested.encode(part) }
            }
            if let note { try container.encode(note, forKey: .note) } else { try container.encodeNil(forKey: .note) }
        }
    }

    static let everything = Everything(
        text: "Ünïcode \"quoted\" / slash", empty: "", integer: -42, big: 9_007_199_254_740_993, small: -8,
        unsigned: UInt64(Int64.max), whole: 3, fraction: 0.25, huge: 1e20, negativeZero: -0.0, single: 1.5, flag: true,
        when: Date(timeIntervalSince1970: 1_700_000_000.5), id: UUID(uuidString: "0190B5C2-7A3F-7C11-8E2B-1234567890AB")!,
        tone: .loud, bytes: Data([0, 1, 254, 255]), link: URL(string: "https://example.com/a?b=c")!,
        present: "here", absent: nil,
        nested: Nested(label: "n", counts: [1, 2, 3], byName: ["a": 1, "b": -2]),
        list: [Nested(label: "x", counts: [], byName: [:])],
        matrix: [[1, 2], [], [3]], optionals: [1, nil, 3],
        raw: .object(["k": .array([.integer(1), .number(0.5), .bool(false), .null, .string("s")])]))

    static func throughText<Value: Encodable>(_ value: Value) throws -> JSONValue {
        try EventCoding.decoder.decode(JSONValue.self, from: EventCoding.encoder.encode(value))
    }

    static func fromText<Value: Decodable>(_ json: JSONValue, as type: Value.Type) throws -> Value {
        try EventCoding.decoder.decode(type, from: EventCoding.encoder.encode(json))
    }

    @Test func encodingGivesWhatTheTextRoundTripGives() throws {
        let direct = try JSONValue(encoding: Self.everything)
        #expect(direct == (try Self.throughText(Self.everything)))
        #expect(direct["absent"] == nil)
        #expect(direct["whole"] == .integer(3))
        #expect(direct["fraction"] == .number(0.25))
        #expect(direct["huge"] == .number(1e20))
        #expect(direct["unsigned"] == .integer(.max))
        #expect(direct["when"] == .string("2023-11-14T22:13:20.500Z"))
        #expect(direct["tone"] == .string("loud"))

        let handWritten = HandWritten(name: "h", pairs: [["a", "b"], ["c", "d"]], note: nil)
        #expect(try JSONValue(encoding: handWritten) == (try Self.throughText(handWritten)))
        #expect(try JSONValue(encoding: handWritten)["note"] == .null)
    }

    @Test func realEventPayloadsConvertAsTheTextDid() throws {
        let checkout = CheckoutCreated(
            checkoutId: UUID(), buyerId: "buyer-1", buyerEmail: nil, currency: "usd", totalAmount: 4_200,
            orders: [.init(orderId: UUID(), orderNumber: "ORD-1", sellerId: "seller-1", totalAmount: 4_200)],
            expiresAt: Date(timeIntervalSince1970: 1_800_000_000.5), useWallet: true)
        let json = try JSONValue(encoding: checkout)
        #expect(json == (try Self.throughText(checkout)))
        #expect(try json.decode(as: CheckoutCreated.self) == checkout)
        #expect(try Self.fromText(json, as: CheckoutCreated.self) == checkout)
    }

    @Test func decodingGivesWhatDecodingTheTextGives() throws {
        let json = try Self.throughText(Self.everything)
        let direct = try json.decode(as: Everything.self)
        #expect(direct == (try Self.fromText(json, as: Everything.self)))
        #expect(direct == Self.everything)

        let handWritten = HandWritten(name: "h", pairs: [["a", "b"]], note: "n")
        #expect(try JSONValue(encoding: handWritten).decode(as: HandWritten.self) == handWritten)

        // A whole number written as 3.0 by another producer reads as an integer, and an integer
        // as a Double, as from text.
        struct Amounts: Codable, Equatable { var amount: Int64; var rate: Double }
        let mixed: JSONValue = ["amount": .number(3), "rate": .integer(2)]
        #expect(try mixed.decode(as: Amounts.self) == Amounts(amount: 3, rate: 2))
        #expect(try Self.fromText(mixed, as: Amounts.self) == Amounts(amount: 3, rate: 2))
    }

    struct Strict: Codable { var amount: Int64; var small: Int8; var name: String; var at: Date; var id: UUID }

    /// Each bad payload fails both ways, never traps, and fails with the same kind of error.
    @Test(arguments: [
        ("missing key", ["small": 1, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("text for a number", ["amount": "12", "small": 1, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("fraction for an integer", ["amount": .number(2.5), "small": 1, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("too big for Int8", ["amount": 1, "small": 300, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("too big for Int64", ["amount": .number(1e30), "small": 1, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("null for a text", ["amount": 1, "small": 1, "name": nil, "at": "2023-11-14T22:13:20.123Z", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("not a date", ["amount": 1, "small": 1, "name": "n", "at": "yesterday", "id": "0190B5C2-7A3F-7C11-8E2B-1234567890AB"]),
        ("not a UUID", ["amount": 1, "small": 1, "name": "n", "at": "2023-11-14T22:13:20.123Z", "id": "nope"]),
        ("an array for an object", [1, 2]),
    ] as [(String, JSONValue)])
    func badPayloadsFailAsTheyDidFromText(_ case: String, _ json: JSONValue) throws {
        func kind(_ body: () throws -> Strict) -> String {
            do {
                _ = try body()
                return "decoded"
            } catch DecodingError.keyNotFound {
                return "keyNotFound"
            } catch DecodingError.typeMismatch {
                return "typeMismatch"
            } catch DecodingError.valueNotFound {
                return "valueNotFound"
            } catch DecodingError.dataCorrupted {
                return "dataCorrupted"
            } catch {
                return "other: \(error)"
            }
        }
        let direct = kind { try json.decode(as: Strict.self) }
        let fromText = kind { try Self.fromText(json, as: Strict.self) }
        #expect(direct != "decoded", "\(`case`)")
        #expect(direct == fromText, "\(`case`)")
    }

    @Test func aMissingKeyIsNamedWithItsPath() throws {
        let json: JSONValue = ["nested": ["label": "n", "counts": [1], "byName": [:]]]
        struct Outer: Decodable { var nested: Nested; var other: String }
        struct Deep: Decodable { var nested: [Broken] }
        struct Broken: Decodable { var label: String; var missing: Int }
        #expect {
            try json.decode(as: Outer.self)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return false }
            return key.stringValue == "other"
        }
        let list: JSONValue = ["nested": [["label": "a", "missing": 1], ["label": "b"]]]
        #expect {
            try list.decode(as: Deep.self)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, let context) = error else { return false }
            return key.stringValue == "missing" && context.codingPath.map(\.stringValue) == ["nested", "Index 1"]
        }
    }

    /// A super encoder may hold any value, not only an object.
    struct WithSuper: Codable, Equatable {
        var base: String
        var own: Int
        enum CodingKeys: String, CodingKey { case own, base }

        init(base: String, own: Int) {
            self.base = base
            self.own = own
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            own = try container.decode(Int.self, forKey: .own)
            base = try container.superDecoder(forKey: .base).singleValueContainer().decode(String.self)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(own, forKey: .own)
            var base = container.superEncoder(forKey: .base).singleValueContainer()
            try base.encode(self.base)
        }
    }

    @Test func aSuperEncoderKeepsWhatItWasGiven() throws {
        let value = WithSuper(base: "b", own: 1)
        let json = try JSONValue(encoding: value)
        #expect(json == (try Self.throughText(value)))
        #expect(json["base"] == .string("b"))
        #expect(try json.decode(as: WithSuper.self) == value)
    }

    @Test func nonFiniteNumbersAreAnErrorAsInText() {
        struct Ratio: Encodable { var value: Double }
        #expect(throws: EncodingError.self) { try JSONValue(encoding: Ratio(value: .nan)) }
        #expect(throws: EncodingError.self) { try EventCoding.encoder.encode(Ratio(value: .infinity)) }
        #expect(throws: EncodingError.self) { try JSONValue(encoding: Ratio(value: .infinity)) }
    }
}
