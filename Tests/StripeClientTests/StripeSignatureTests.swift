import Foundation
import StripeClient
import Testing

/// Vectors computed independently with Python's hmac module:
/// `hmac.new(secret, f"{t}.{payload}", sha256).hexdigest()`.
@Suite struct StripeSignatureTests {
    let payload = Array(#"{"id":"evt_test_1","object":"event","type":"payment_intent.succeeded"}"#.utf8)
    let secret = "whsec_test_secret_one"
    let t: Int64 = 1_700_000_000
    let valid = "3f7ab2557b9136a6e142ee58bd2bd6c2c05f4d620a15cbe2507b5038a33d701c"
    let signedWithOtherSecret = "fb2ee18f3f1295c61d9d51f14b794df6434ee6954c91131e706267161f99e9b2"
    var now: Date { Date(timeIntervalSince1970: Double(t) + 10) }

    @Test func aValidSignatureIsAccepted() throws {
        try StripeSignature.verify(payload: payload, header: "t=\(t),v1=\(valid)", secrets: [secret], now: now)
        #expect(StripeSignature.header(payload: payload, secret: secret, timestamp: t) == "t=\(t),v1=\(valid)")
    }

    @Test func aTamperedBodyIsRejected() {
        let tampered = Array(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "succeeded", with: "failed").utf8)
        #expect(throws: StripeSignature.Failure.noSignatureMatched) {
            try StripeSignature.verify(payload: tampered, header: "t=\(t),v1=\(valid)", secrets: [secret], now: now)
        }
    }

    @Test func theWrongSecretIsRejected() {
        #expect(throws: StripeSignature.Failure.noSignatureMatched) {
            try StripeSignature.verify(payload: payload, header: "t=\(t),v1=\(valid)", secrets: ["whsec_test_secret_two"], now: now)
        }
    }

    @Test func aTooOldSignatureIsRejected() {
        #expect(throws: StripeSignature.Failure.timestampOutsideTolerance) {
            try StripeSignature.verify(
                payload: payload, header: "t=\(t),v1=\(valid)", secrets: [secret], now: Date(timeIntervalSince1970: Double(t) + 301))
        }
    }

    @Test func anyOfSeveralV1ValuesAndSecretsMayMatch() throws {
        // Stripe sends one v1 per active endpoint secret while a secret is being rolled.
        try StripeSignature.verify(
            payload: payload, header: "t=\(t),v1=\(signedWithOtherSecret),v1=\(valid),v0=deadbeef", secrets: [secret], now: now)
        try StripeSignature.verify(
            payload: payload, header: "t=\(t),v1=\(signedWithOtherSecret)", secrets: [secret, "whsec_test_secret_two"], now: now)
    }

    @Test func missingOrMalformedHeadersAreRejected() {
        #expect(throws: StripeSignature.Failure.missingHeader) { try StripeSignature.verify(payload: payload, header: nil, secrets: [secret]) }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try StripeSignature.verify(payload: payload, header: "v1=\(valid)", secrets: [secret]) }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try StripeSignature.verify(payload: payload, header: "t=\(t)", secrets: [secret]) }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try StripeSignature.verify(payload: payload, header: "garbage", secrets: [secret]) }
    }
}
