import Foundation
import Persistence

/// A failed Stripe call, typed by what the caller can do about it.
public struct StripeError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The card was declined; `declineCode` says why (e.g. `insufficient_funds`).
        case cardDeclined = "card_declined"
        case invalidRequest = "invalid_request"
        case authentication
        case rateLimit = "rate_limit"
        /// Stripe's side (5xx) or an unexpected answer.
        case api
        /// No answer at all: connection refused, reset, timed out.
        case connection
        /// An idempotent request was retried with different parameters, or is still running.
        case idempotency
    }

    public var kind: Kind
    public var httpStatus: Int?
    public var code: String?
    public var declineCode: String?
    /// Stripe's own message; for logs, never shown to buyers as is.
    public var message: String
    public var requestId: String?

    public init(
        kind: Kind, httpStatus: Int? = nil, code: String? = nil, declineCode: String? = nil, message: String,
        requestId: String? = nil
    ) {
        self.kind = kind
        self.httpStatus = httpStatus
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.requestId = requestId
    }

    /// Reads Stripe's error body `{"error": {"type", "code", "decline_code", "message"}}`.
    public static func from(status: Int, body: [UInt8], requestId: String?) -> StripeError {
        struct Envelope: Decodable {
            struct Body: Decodable {
                var type: String?
                var code: String?
                var decline_code: String?
                var message: String?
            }
            var error: Body
        }
        let parsed = try? JSONDecoder().decode(Envelope.self, from: Data(body))
        let type = parsed?.error.type
        let kind: Kind
        switch (status, type) {
        case (_, "card_error"): kind = .cardDeclined
        // localstripe reports declines as invalid_request_error with code card_declined.
        case (402, _) where parsed?.error.code == "card_declined": kind = .cardDeclined
        case (_, "idempotency_error"): kind = .idempotency
        case (401, _), (403, _): kind = .authentication
        case (429, _): kind = .rateLimit
        case (409, _): kind = .idempotency
        case (400..<500, _): kind = .invalidRequest
        default: kind = .api
        }
        return StripeError(
            kind: kind, httpStatus: status, code: parsed?.error.code, declineCode: parsed?.error.decline_code,
            message: parsed?.error.message ?? "HTTP \(status) from Stripe", requestId: requestId)
    }

    /// Whether trying again (with the same idempotency key) may succeed.
    public var isRetriable: Bool {
        switch kind {
        case .connection, .rateLimit: return true
        case .api: return (httpStatus ?? 500) >= 500
        // Stripe answers 409 while another request with the same key is in flight.
        case .idempotency: return httpStatus == 409 && (code == "idempotency_key_in_use" || code == "lock_timeout")
        case .cardDeclined, .invalidRequest, .authentication: return false
        }
    }

    /// What a buyer or seller may be told: no Stripe internals, no card details.
    public var userMessage: String {
        switch kind {
        case .cardDeclined:
            switch declineCode ?? code {
            case "insufficient_funds": return "Your card has insufficient funds."
            case "expired_card": return "Your card has expired."
            case "incorrect_cvc": return "Your card's security code is incorrect."
            case "lost_card", "stolen_card", "fraudulent": return "Your card was declined."
            default: return "Your card was declined."
            }
        case .rateLimit, .connection, .api: return "The payment provider is unavailable right now; please try again."
        case .invalidRequest, .authentication, .idempotency: return "The payment could not be processed."
        }
    }

    public var description: String {
        "StripeError(\(kind.rawValue), status: \(httpStatus.map(String.init) ?? "-"), code: \(code ?? "-"), decline: \(declineCode ?? "-"), request: \(requestId ?? "-")): \(message)"
    }
}

/// When and how long to wait before retrying a Stripe call: at most 5 attempts, exponential
/// backoff with full jitter, only for errors where a retry is safe.
public struct StripeRetryPolicy: Sendable {
    public var maximumAttempts = 5
    public var baseDelay: Duration = .milliseconds(250)
    public var maximumDelay: Duration = .seconds(8)

    public init() {}

    /// The delay before attempt `attempt + 1`, or nil to give up.
    public func delay(after error: StripeError, attempt: Int, jitter: Double = Double.random(in: 0...1)) -> Duration? {
        guard error.isRetriable, attempt < maximumAttempts else { return nil }
        let exponential = baseDelay * (1 << min(attempt - 1, 16))
        return min(exponential, maximumDelay) * max(0.05, jitter)
    }
}
