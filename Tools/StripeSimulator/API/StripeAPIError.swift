import EventContracts
import Hummingbird

/// An error in Stripe's shape: `{"error": {"type", "code", "decline_code", "message", "param", "doc_url"}}`.
struct StripeAPIError: Error, Sendable {
    var status: HTTPResponse.Status
    /// `invalid_request_error`, `card_error`, `api_error` or `idempotency_error`.
    var type: String
    var code: String?
    var declineCode: String?
    var message: String
    var param: String?
    /// More fields of the error object, e.g. the `payment_intent` of a card error.
    var extra: [String: JSONValue] = [:]
    /// Raised while checking the request, before the endpoint ran: Stripe stores no
    /// idempotent result for these, so the same key may be used again.
    var beforeExecution = false

    var json: JSONValue {
        var body: [String: JSONValue] = ["type": .string(type), "message": .string(message)]
        if let code {
            body["code"] = .string(code)
            body["doc_url"] = .string("https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))")
        }
        if let declineCode { body["decline_code"] = .string(declineCode) }
        if let param { body["param"] = .string(param) }
        body.merge(extra) { own, _ in own }
        return ["error": .object(body)]
    }

    /// A decline (`card_error`), as opposed to a request Stripe refused.
    var isCardError: Bool { type == "card_error" }

    static func invalidRequest(
        _ message: String, code: String? = nil, param: String? = nil, status: HTTPResponse.Status = .badRequest
    ) -> StripeAPIError {
        StripeAPIError(status: status, type: "invalid_request_error", code: code, message: message, param: param)
    }

    static func unknownParameter(_ name: String) -> StripeAPIError {
        var error = invalidRequest("Received unknown parameter: \(name)", code: "parameter_unknown", param: name)
        error.beforeExecution = true
        return error
    }

    static func missingParameter(_ name: String) -> StripeAPIError {
        var error = invalidRequest("Missing required param: \(name).", code: "parameter_missing", param: name)
        error.beforeExecution = true
        return error
    }

    static func invalidParameter(_ name: String, _ message: String, code: String?) -> StripeAPIError {
        var error = invalidRequest(message, code: code, param: name)
        error.beforeExecution = true
        return error
    }

    /// `No such payment_intent: 'pi_…'`: 404 for the object in the path, 400 for one a parameter names.
    static func noSuch(_ kind: String, _ id: String, param: String? = nil) -> StripeAPIError {
        invalidRequest("No such \(kind): '\(id)'", code: "resource_missing", param: param ?? "id", status: param == nil ? .notFound : .badRequest)
    }

    /// A decline: 402 `card_error`, as Stripe answers a failed confirmation.
    static func cardError(code: String, declineCode: String, message: String) -> StripeAPIError {
        StripeAPIError(
            status: HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), type: "card_error", code: code,
            declineCode: declineCode, message: message)
    }

    static func balanceInsufficient(_ message: String) -> StripeAPIError {
        invalidRequest(message, code: "balance_insufficient")
    }

    static func unexpectedState(_ message: String) -> StripeAPIError {
        invalidRequest(message, code: "payment_intent_unexpected_state")
    }

    static func apiError(_ message: String, status: HTTPResponse.Status = .internalServerError) -> StripeAPIError {
        StripeAPIError(status: status, type: "api_error", message: message)
    }

    static func authentication(_ message: String) -> StripeAPIError {
        StripeAPIError(status: .unauthorized, type: "invalid_request_error", message: message, beforeExecution: true)
    }
}
