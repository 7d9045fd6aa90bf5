import Foundation

/// The JSON conventions shared by every event and API body: camelCase keys, ISO 8601 dates
/// with milliseconds, sorted keys so the same value always encodes to the same bytes.
public enum EventCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = parseDate(text) { return date }
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "Expected an ISO 8601 date, got \(text)")
        }
        return decoder
    }

    static let iso8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// A date as events carry it: ISO 8601 in UTC with milliseconds.
    static func format(_ date: Date) -> String { date.formatted(iso8601) }

    /// An ISO 8601 date, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? iso8601.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
