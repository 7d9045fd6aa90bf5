import Hummingbird
import Synchronization

/// A response as stored for an idempotency key, replayed byte for byte.
struct StoredResponse: Sendable {
    var status: HTTPResponse.Status
    var body: [UInt8]
}

/// Stripe's idempotency layer: the first request with a key runs and its answer (success or
/// error, 500s included) is stored; a retry with the same endpoint and parameters gets that
/// answer back; anything else with the key is refused. Keys are forgotten after `ttl`.
final class IdempotencyStore: Sendable {
    /// What a request with a key is: the endpoint (`POST /v1/refunds`) and its parameters.
    struct Fingerprint: Sendable, Equatable {
        var endpoint: String
        var parameters: String
    }

    enum Admission: Sendable {
        /// Run the request, then `finish` or `abandon` the key.
        case proceed
        case replay(StoredResponse)
        case refused(StripeAPIError)
    }

    private struct Entry {
        var fingerprint: Fingerprint
        var createdAt: ContinuousClock.Instant
        /// Nil while the first request is still running.
        var response: StoredResponse?
    }

    private let ttl: Duration
    private let entries = Mutex<[String: Entry]>([:])
    /// Expired keys are dropped when the store reaches this size, which then doubles (or resets
    /// to what is left): pruning on every request past a fixed size made each one scan every key.
    private let pruneAt = Mutex(1_000)

    init(ttl: Duration) { self.ttl = ttl }

    /// Keys are per account, as Stripe's are: `scope` is the `Stripe-Account` (or the platform).
    func admit(key: String, scope: String, fingerprint: Fingerprint, now: ContinuousClock.Instant = .now) -> Admission {
        entries.withLock { entries in
            let id = "\(scope) \(key)"
            if let entry = entries[id], now - entry.createdAt < ttl {
                guard entry.fingerprint.endpoint == fingerprint.endpoint else {
                    return .refused(Self.mismatch(
                        "Keys for idempotent requests can only be used for the same endpoint they were first used for ('\(entry.fingerprint.endpoint)' vs '\(fingerprint.endpoint)'). Try using a key other than '\(key)' if you meant to execute a different request."))
                }
                guard entry.fingerprint.parameters == fingerprint.parameters else {
                    return .refused(Self.mismatch(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '\(key)' if you meant to execute a different request."))
                }
                guard let response = entry.response else {
                    var error = StripeAPIError.invalidRequest(
                        "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): '\(key)'. Please try again later.",
                        code: "idempotency_key_in_use", status: .conflict)
                    error.type = "idempotency_error"
                    return .refused(error)
                }
                return .replay(response)
            }
            if entries.count >= pruneAt.withLock({ $0 }) {
                entries = entries.filter { now - $0.value.createdAt < ttl }
                let left = entries.count
                pruneAt.withLock { $0 = max(1_000, left * 2) }
            }
            entries[id] = Entry(fingerprint: fingerprint, createdAt: now, response: nil)
            return .proceed
        }
    }

    func finish(key: String, scope: String, with response: StoredResponse) {
        entries.withLock { $0["\(scope) \(key)"]?.response = response }
    }

    /// The request failed before the endpoint ran (validation): nothing is stored for the key.
    func abandon(key: String, scope: String) {
        entries.withLock { _ = $0.removeValue(forKey: "\(scope) \(key)") }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }

    /// Keys not yet expired.
    func count(now: ContinuousClock.Instant = .now) -> Int {
        entries.withLock { $0.values.count { now - $0.createdAt < ttl } }
    }

    private static func mismatch(_ message: String) -> StripeAPIError {
        StripeAPIError(status: .badRequest, type: "idempotency_error", message: message)
    }
}
