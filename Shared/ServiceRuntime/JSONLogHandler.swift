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

    /// One log line's JSON (without the newline).
    static func line(event: LogEvent, metadata: Logger.Metadata, service: String, label: String) -> Data? {
        var fields: [String: Any] = [
            "time": Date().formatted(Self.timeFormat),
            "level": event.level.rawValue,
            "service": service,
            "logger": label,
            "message": LogRedaction.redact("\(event.message)"),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            fields[key] = LogRedaction.isSensitive(key: key) ? LogRedaction.mask : unpack(value)
        }
        return try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private static let output = Mutex(())
    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func unpack(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): return LogRedaction.redact(string)
        case .stringConvertible(let convertible): return LogRedaction.redact(convertible.description)
        case .array(let array): return array.map(unpack)
        case .dictionary(let dictionary):
            return Dictionary(uniqueKeysWithValues: dictionary.map { key, value in
                (key, LogRedaction.isSensitive(key: key) ? LogRedaction.mask : unpack(value))
            })
        }
    }
}

extension Logger.MetadataProvider {
    /// `correlation_id` of the request or event being handled, for every log line written meanwhile.
    public static let correlation = Logger.MetadataProvider {
        CorrelationScope.id.map { ["correlation_id": .string($0)] } ?? [:]
    }
}
