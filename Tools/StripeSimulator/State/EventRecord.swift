import EventContracts
import StripeClient

/// The API request that caused a change; Stripe names it in each event's `request`. A task
/// local, so the state records it without every method taking it.
struct RequestOrigin: Sendable {
    var id: String
    var idempotencyKey: String?

    @TaskLocal static var current: RequestOrigin?
}

/// A Stripe event: listed by `/v1/events` and delivered, signed, to the webhook endpoint.
struct EventRecord: Sendable {
    var id: String
    var type: String
    var created: Int64
    /// The connected account the event happened on (Connect events), else nil.
    var account: String?
    var object: JSONValue
    var origin: RequestOrigin?
    /// Endpoints the event is to be delivered to (0 or 1 here), at the time it happened.
    var pendingWebhooks: Int

    var json: JSONValue {
        var event: [String: JSONValue] = [
            "id": .string(id), "object": "event", "api_version": .string(StripeClient.pinnedVersion), "created": .integer(created),
            "data": ["object": object], "livemode": false, "pending_webhooks": .integer(Int64(pendingWebhooks)), "type": .string(type),
            "request": ["id": (origin?.id).json, "idempotency_key": (origin?.idempotencyKey).json],
        ]
        if let account { event["account"] = .string(account) }
        return .object(event)
    }
}
