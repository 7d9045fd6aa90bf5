import Foundation
import Logging

/// Keeps secrets and card data out of logs, whatever a caller passes: metadata under a sensitive
/// key is replaced whole, and bearer tokens, JWTs, Stripe keys and client secrets, webhook
/// secrets and card numbers (Luhn-valid runs of 13 to 19 digits) are masked inside any text.
enum LogRedaction {
    static let mask = "[REDACTED]"

    private static let sensitiveKeys = [
        "authorization", "password", "passwd", "secret", "token", "jwt", "api_key", "apikey", "cookie", "card_number",
        "cardnumber", "cvc", "cvv",
    ]

    private static let patterns: [NSRegularExpression] = [
        #"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"#,
        #"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"#,
        #"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"#,
        #"\bwhsec_[A-Za-z0-9]+"#,
        #"\b[a-z]{2,4}_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"#,
    ].map { try! NSRegularExpression(pattern: $0) }  // constant patterns: a typo fails every test at once

    private static let digitRuns = try! NSRegularExpression(pattern: #"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"#)

    private static let sensitiveKeyBytes = sensitiveKeys.map { Array($0.utf8) }

    /// Byte by byte, ignoring ASCII case: every log line asks this of each of its keys, and
    /// `lowercased()` with Foundation's `contains` showed in the profile under load.
    static func isSensitive(key: String) -> Bool {
        let bytes = Array(key.utf8)
        return sensitiveKeyBytes.contains { contains($0, in: bytes) }
    }

    static func redact(_ text: String) -> String {
        guard mayHoldSecret(text) else { return text }
        var result = text
        for pattern in patterns {
            result = pattern.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: mask)
        }
        let matches = digitRuns.matches(in: result, range: NSRange(result.startIndex..., in: result))
        for match in matches.reversed() {
            guard let range = Range(match.range, in: result), isLuhnValid(result[range].filter(\.isNumber)) else { continue }
            result.replaceSubrange(range, with: mask)
        }
        return result
    }

    /// False when no pattern can match: no run of 13 digits (one space or dash allowed between
    /// two), and none of the patterns' fixed parts. Most texts (ids, statuses, amounts) are
    /// cleared by this one pass over their bytes, without a regular expression.
    static func mayHoldSecret(_ text: String) -> Bool {
        guard text.utf8.count >= 13 else { return false }
        let bytes = Array(text.utf8)
        var digits = 0
        var afterSeparator = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                afterSeparator = false
                if digits >= 13 { return true }
            case UInt8(ascii: " ") where digits > 0 && !afterSeparator,
                UInt8(ascii: "-") where digits > 0 && !afterSeparator:
                afterSeparator = true
            default:
                digits = 0
                afterSeparator = false
            }
        }
        return markers.contains { marker in contains(marker, in: bytes) }
    }

    /// A fixed part of every pattern, lowercase: a text holding none (in any case) matches none.
    private static let markers: [[UInt8]] = ["bearer", "eyj", "_live_", "_test_", "whsec_", "_secret_"].map { Array($0.utf8) }

    private static func contains(_ needle: [UInt8], in bytes: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) {
            var index = 0
            while index < needle.count, bytes[start + index] | 0x20 == needle[index] | 0x20 { index += 1 }
            if index == needle.count { return true }
        }
        return false
    }

    static func isLuhnValid(_ digits: String) -> Bool {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            guard var digit = character.wholeNumberValue else { return false }
            if index % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return sum % 10 == 0
    }
}

/// Masks secrets before any other handler (the text format) sees a line, as JSONLogHandler does.
struct RedactingLogHandler: LogHandler {
    var wrapped: any LogHandler

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(LogRedaction.redact("\(event.message)"))"
        event.metadata = event.metadata.map(Self.redacted)
        var handler = wrapped
        handler.metadata = Self.redacted(handler.metadata)
        handler.log(event: event)
    }

    static func redacted(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.reduce(into: [:]) { result, entry in
            result[entry.key] = LogRedaction.isSensitive(key: entry.key) ? .string(LogRedaction.mask) : redacted(entry.value)
        }
    }

    static func redacted(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let string): .string(LogRedaction.redact(string))
        case .stringConvertible(let convertible): .string(LogRedaction.redact(convertible.description))
        case .array(let array): .array(array.map(redacted))
        case .dictionary(let dictionary): .dictionary(redacted(dictionary))
        }
    }
}
