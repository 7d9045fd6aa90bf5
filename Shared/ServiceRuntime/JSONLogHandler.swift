import EventContracts
import Foundation
import Logging
import Synchronization

/// Writes one JSON object per line: time, level, service, label, message, and metadata, with
/// secrets and card data masked (`LogRedaction`).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// Metadata of the work in progress (the correlation id, see `CorrelationScope`).
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let service: String

    public init(label: String, service: String) {
        self.label = label
        self.service = service
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard var line = render(event) else { return }
        line.append(0x0A)
        Self.output.withLock { _ in FileHandle.standardOutput.write(line) }
    }

    /// The line for `event`, with the provider's metadata (the handler's own wins over it).
    func render(_ event: LogEvent) -> Data? {
        let metadata = (metadataProvider?.get() ?? [:]).merging(self.metadata) { _, own in own }
        return Self.line(event: event, metadata: metadata, service: service, label: label)
    }

    /// One log line's JSON (without the newline), keys sorted. Written by hand: this runs for
    /// every line of every service, and `JSONSerialization` with a date formatter and the
    /// redaction's regular expressions took about 7 % of the services' CPU under load.
    static func line(event: LogEvent, metadata: Logger.Metadata, service: String, label: String) -> Data? {
        var fields: Logger.Metadata = [
            "time": .string(timestamp(Date())),
            "level": .string(event.level.rawValue),
            "service": .string(service),
            "logger": .string(label),
            "message": .string("\(event.message)"),
        ]
        // The writer masks sensitive keys and redacts every text.
        fields.merge(metadata.merging(event.metadata ?? [:]) { _, new in new }) { _, new in new }
        var writer = JSONLineWriter()
        writer.write(.dictionary(fields))
        return Data(writer.bytes)
    }

    private static let output = Mutex(())

    /// `2026-11-27T07:49:34.123Z`, as `Date.ISO8601FormatStyle(includingFractionalSeconds: true)`
    /// writes it.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))."
            + "\(padded(Int32(milliseconds % 1000), 3))Z"
    }
}

/// Writes log metadata as JSON: objects with sorted keys, every text redacted
/// (`LogRedaction`), sensitive keys of nested objects masked, `/` left as it is.
struct JSONLineWriter {
    var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func write(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let string): write(string: LogRedaction.redact(string))
        case .stringConvertible(let convertible): write(string: LogRedaction.redact(convertible.description))
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(string: key)
                bytes.append(UInt8(ascii: ":"))
                if LogRedaction.isSensitive(key: key) {
                    write(string: LogRedaction.mask)
                } else if let value = dictionary[key] {
                    write(value)
                }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    mutating func write(string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension Logger.MetadataProvider {
    /// `correlation_id` of the request or event being handled, for every log line written meanwhile.
    public static let correlation = Logger.MetadataProvider {
        CorrelationScope.id.map { ["correlation_id": .string($0)] } ?? [:]
    }
}
