import StripeClient
import Testing

@Suite struct StripeFormTests {
    @Test func nestedMetadataAndArraysUseBracketedKeys() {
        let body = StripeForm.encode([
            ("amount", 12_345), ("currency", "usd"), ("confirm", true),
            ("metadata", .metadata(["order_id": "o-1", "checkout_id": "c 1&2"])),
            ("payment_method_types", .array(["card"])),
        ])
        #expect(
            body == "amount=12345&currency=usd&confirm=true&metadata%5Bcheckout_id%5D=c%201%262&metadata%5Border_id%5D=o-1"
                + "&payment_method_types%5B0%5D=card")
    }

    @Test func unicodeIsPercentEncodedAsUTF8() {
        #expect(StripeForm.encode([("description", "Café ☕")]) == "description=Caf%C3%A9%20%E2%98%95")
    }
}

@Suite struct StripeErrorTests {
    @Test func aCardErrorIsADeclineWithItsCode() {
        let body = Array(#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#.utf8)
        let error = StripeError.from(status: 402, body: body, requestId: "req_1")
        #expect(error.kind == .cardDeclined)
        #expect(error.declineCode == "insufficient_funds")
        #expect(!error.isRetriable)
        #expect(error.userMessage == "Your card has insufficient funds.")
    }

    @Test(arguments: [
        (400, "invalid_request_error", StripeError.Kind.invalidRequest, false),
        (401, "invalid_request_error", .authentication, false),
        (429, "invalid_request_error", .rateLimit, true),
        (500, "api_error", .api, true),
        (503, "api_error", .api, true),
        (400, "idempotency_error", .idempotency, false),
    ])
    func statusAndTypeMapToKindsAndRetriability(_ status: Int, _ type: String, _ kind: StripeError.Kind, _ retriable: Bool) {
        let error = StripeError.from(status: status, body: Array(#"{"error":{"type":"\#(type)","message":"m"}}"#.utf8), requestId: nil)
        #expect(error.kind == kind)
        #expect(error.isRetriable == retriable)
        #expect(!error.userMessage.contains("m") || error.userMessage.count > 1)
    }

    @Test func aLockTimeoutConflictIsRetriedAndAGarbledBodyIsAnAPIError() {
        let lock = StripeError.from(status: 409, body: Array(#"{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"m"}}"#.utf8), requestId: nil)
        #expect(lock.isRetriable)
        let garbled = StripeError.from(status: 502, body: Array("<html>".utf8), requestId: nil)
        #expect(garbled.kind == .api)
        #expect(garbled.isRetriable)
    }

    @Test func retriesStopAfterFiveAttemptsAndBackOffExponentially() {
        let policy = StripeRetryPolicy()
        let transient = StripeError(kind: .connection, message: "reset")
        #expect(policy.delay(after: transient, attempt: 1, jitter: 1) == .milliseconds(250))
        #expect(policy.delay(after: transient, attempt: 3, jitter: 1) == .milliseconds(1000))
        #expect(policy.delay(after: transient, attempt: 4, jitter: 0.5) == .milliseconds(1000))
        #expect(policy.delay(after: transient, attempt: 5, jitter: 1) == nil)
        #expect(policy.delay(after: StripeError(kind: .cardDeclined, message: "no"), attempt: 1) == nil)
    }
}
