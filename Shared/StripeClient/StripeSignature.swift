import Crypto
import EventContracts
import Foundation

/// Verifies (and, for the simulated gateway, makes) `Stripe-Signature` headers:
/// `t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">[,v1=…]`.
public enum StripeSignature {
    public enum Failure: Error, Equatable, Sendable {
        case missingHeader
        case malformedHeader
        case noSignatureMatched
        case timestampOutsideTolerance
    }

    /// Checks the raw body against every `v1` signature and every secret (several during
    /// rotation); the timestamp must be within `tolerance` of `now`.
    public static func verify(
        payload: [UInt8], header: String?, secrets: [String], tolerance: TimeInterval = 300, now: Date = Date()
    ) throws(Failure) {
        guard let header, !header.isEmpty else { throw .missingHeader }
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int64(pair[1])
            case "v1": signatures.append(pair[1].lowercased())
            default: continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        let matched = secrets.contains { secret in
            let expected = signature(payload: payload, timestamp: timestamp, secret: secret)
            return signatures.contains { constantTimeEqual($0, expected) }
        }
        guard matched else { throw .noSignatureMatched }
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { throw .timestampOutsideTolerance }
    }

    /// The header Stripe would send for this payload.
    public static func header(payload: [UInt8], secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, timestamp: timestamp, secret: secret))"
    }

    static func signature(payload: [UInt8], timestamp: Int64, secret: String) -> String {
        let signed = Array("\(timestamp).".utf8) + payload
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.hexEncoded
    }

    private static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
