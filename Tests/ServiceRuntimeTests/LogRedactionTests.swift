import EventContracts
import Foundation
import Logging
import Testing

@testable import ServiceRuntime

@Suite struct LogRedactionTests {
    func logged(_ message: Logger.Message, _ metadata: Logger.Metadata = [:]) throws -> [String: Any] {
        let event = LogEvent(level: .info, message: message, metadata: metadata, source: "test", file: #file, function: #function, line: #line)
        let line = try #require(JSONLogHandler.line(event: event, metadata: ["correlation_id": "req-1"], service: "svc", label: "test"))
        return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
    }

    @Test func secretsUnderSensitiveKeysAreMaskedWhole() throws {
        let fields = try logged(
            "calling the gateway",
            [
                "authorization": "Basic dXNlcjpwYXNz", "smtp_password": "hunter2-hunter2", "STRIPE_WEBHOOK_SECRET": "abc",
                "Set-Cookie": "session=abc", "Refresh-Token": "r-1", "cardNumber": "4242",
                "request": .dictionary(["api_key": "k-123", "path": "/api/v1/payments"]), "order_id": "o-1",
            ])
        #expect(fields["authorization"] as? String == "[REDACTED]")
        #expect(fields["smtp_password"] as? String == "[REDACTED]")
        #expect(fields["STRIPE_WEBHOOK_SECRET"] as? String == "[REDACTED]")
        #expect(fields["Set-Cookie"] as? String == "[REDACTED]")
        #expect(fields["Refresh-Token"] as? String == "[REDACTED]")
        #expect(fields["cardNumber"] as? String == "[REDACTED]")
        let request = try #require(fields["request"] as? [String: Any])
        #expect(request["api_key"] as? String == "[REDACTED]")
        #expect(request["path"] as? String == "/api/v1/payments")
        #expect(fields["order_id"] as? String == "o-1")
        #expect(fields["correlation_id"] as? String == "req-1")
        #expect(fields["service"] as? String == "svc")
        #expect(fields["level"] as? String == "info")
    }

    @Test func tokensKeysAndCardNumbersAreMaskedInsideAnyText() throws {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
        let fields = try logged(
            "header was Bearer \(jwt) and key sk_test_51Habc123XYZ",
            [
                "error": "stripe said: invalid whsec_abcDEF123 for pi_3Nabc_secret_xyz789; card 4242 4242 4242 4242 declined",
                "amount": "424242424242",
            ])
        let message = try #require(fields["message"] as? String)
        #expect(!message.contains(jwt) && !message.contains("eyJ") && !message.contains("sk_test_"))
        #expect(message.hasPrefix("header was [REDACTED] and key [REDACTED]"))
        let error = try #require(fields["error"] as? String)
        #expect(!error.contains("whsec_abcDEF123") && !error.contains("_secret_xyz789") && !error.contains("4242 4242 4242 4242"))
        #expect(error.contains("stripe said: invalid [REDACTED]"))
        // Twelve digits is an amount, not a card number.
        #expect(fields["amount"] as? String == "424242424242")
    }

    /// The quick check before the regular expressions never clears a text they would change.
    @Test func theQuickCheckLetsThroughEveryTextAPatternMatches() {
        let risky = [
            "Bearer abcdefgh", "BEARER abcdefgh", "eyJhbGciOiJIUzI1NiJ9.eyJz.c2ln", "key sk_live_51Habc123XYZ", "rk_test_abcdef123",
            "whsec_abcDEF123xx", "pi_3Nabc_secret_xyz789", "4242 4242 4242 4242", "4242-4242-4242-4242", "card 4000056655665556",
        ]
        for text in risky {
            #expect(LogRedaction.mayHoldSecret(text), "\(text)")
            #expect(LogRedaction.redact(text) != text, "\(text)")
        }
        let plain = [
            "order transitioned", "424242424242 cents", "4242 4242 4242  4242", "2026-11-27T07:49:34.123Z",
            "pi_3NabcdefGHIJKL", "gateway command succeeded",
        ]
        for text in plain {
            #expect(!LogRedaction.mayHoldSecret(text), "\(text)")
        }
    }

    @Test func linesAreJSONWhateverTheTextHolds() throws {
        let awkward = "quote \" backslash \\ slash / newline \n tab \t bell \u{07} ünïcødé €"
        let fields = try logged("\(awkward)", ["nested": .dictionary(["list": .array(["a", .stringConvertible(42)]), "token": "x"])])
        #expect(fields["message"] as? String == awkward)
        let nested = try #require(fields["nested"] as? [String: Any])
        #expect(nested["list"] as? [String] == ["a", "42"])
        #expect(nested["token"] as? String == "[REDACTED]")
        let time = try #require(fields["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"))
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_795_765_774.0456)) == "2026-11-27T07:49:34.045Z")
    }

    @Test func numbersThatFailTheLuhnCheckAreKept() {
        #expect(LogRedaction.isLuhnValid("4242424242424242"))
        #expect(!LogRedaction.isLuhnValid("4242424242424241"))
        #expect(LogRedaction.redact("offset 4242424242424241 reached") == "offset 4242424242424241 reached")
    }
}

@Suite struct CorrelationLoggingTests {
    static func render(_ handler: JSONLogHandler) throws -> [String: Any] {
        let event = LogEvent(level: .info, message: "work", metadata: nil, source: "test", file: #file, function: #function, line: #line)
        let line = try #require(handler.render(event))
        return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
    }

    /// Any logger, not only the request's, writes the correlation id of the work in progress.
    @Test func everyLineWrittenDuringAPieceOfWorkCarriesItsCorrelationId() async throws {
        var handler = JSONLogHandler(label: "store", service: "escrow-service")
        handler.metadataProvider = .correlation
        let outside = try Self.render(handler)
        #expect(outside["correlation_id"] == nil)
        try await CorrelationScope.$id.withValue("req-77") {
            let line = try Self.render(handler)
            #expect(line["correlation_id"] as? String == "req-77")
            let child = handler
            let inner = Task { try Self.render(child)["correlation_id"] as? String }
            let fromChild = try await inner.value
            #expect(fromChild == "req-77")
        }
        handler[metadataKey: "correlation_id"] = "explicit"
        try await CorrelationScope.$id.withValue("req-78") {
            let line = try Self.render(handler)
            #expect(line["correlation_id"] as? String == "explicit")
        }
    }
}

@Suite struct TextLogRedactionTests {
    final class Capture: @unchecked Sendable {
        var events: [LogEvent] = []
    }

    struct CapturingHandler: LogHandler {
        let capture: Capture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var event = event
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.events.append(event)
        }
    }

    /// LOG_FORMAT=text masks what the JSON format masks.
    @Test func theTextFormatMasksSecretsToo() throws {
        let capture = Capture()
        var logger = Logger(label: "text") { _ in RedactingLogHandler(wrapped: CapturingHandler(capture: capture)) }
        logger[metadataKey: "authorization"] = "Bearer abc.def.ghi"
        logger.info("charging card 4242 4242 4242 4242 with key sk_test_51Hxyzabcdefghijklmnop", metadata: ["note": "whsec_abcdefghijklmnop1234"])
        let event = try #require(capture.events.first)
        let message = "\(event.message)"
        #expect(!message.contains("4242 4242 4242 4242") && !message.contains("sk_test_51Hxyz"))
        #expect(event.metadata?["authorization"] == .string(LogRedaction.mask))
        #expect(event.metadata?["note"].map { "\($0)".contains("whsec_abcdefghijklmnop1234") } == false)
    }
}
