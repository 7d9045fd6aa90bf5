import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import StripeClient

/// Delivers queued events to the webhook endpoint, signed with `Stripe-Signature` as Stripe
/// signs them (a fresh timestamp on every attempt). A 2xx answer is acceptance.
struct WebhookDispatcher: Service {
    let outbox: WebhookOutbox
    let policy: WebhookRetryPolicy
    let timeout: Duration
    /// Deliveries in flight at once.
    let concurrency: Int
    let http: HTTPClient
    let logger: Logger

    func run() async throws {
        // Shutdown cancels the wait for work; what is still queued is dropped, as memory is.
        try? await cancelWhenGracefulShutdown {
            // Up to `concurrency` deliveries in flight, each slot taken up as soon as one ends: a
            // slow delivery holds up no other (taken a batch at a time, with the next batch
            // awaiting the whole of this one, one slow answer held every event behind it).
            try await withThrowingTaskGroup(of: Void.self) { group in
                var started = 0
                while !Task.isCancelled {
                    for entry in try await outbox.nextBatch() {
                        // Every child is awaited here once, so the group never keeps more than
                        // `concurrency` of them, finished or not.
                        if started >= concurrency { try await group.next() } else { started += 1 }
                        group.addTask { await attempt(entry) }
                    }
                }
            }
        }
    }

    private func attempt(_ entry: DueQueue<WebhookOutbox.Delivery>.Entry) async {
        let accepted = await deliver(entry.item)
        let retryIn = outbox.settle(entry, accepted: accepted, policy: policy)
        if !accepted {
            var metadata: Logger.Metadata = [
                "event": "\(entry.item.eventId)", "type": "\(entry.item.eventType)", "attempt": "\(entry.item.attempts + 1)",
            ]
            if let retryIn { metadata["retry_in"] = "\(retryIn)" }
            logger.warning(retryIn == nil ? "webhook given up" : "webhook refused; will retry", metadata: metadata)
        }
    }

    private func deliver(_ delivery: WebhookOutbox.Delivery) async -> Bool {
        let endpoint = outbox.endpoint
        guard let url = endpoint.target(of: delivery) else { return false }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        request.headers.add(
            name: "Stripe-Signature",
            value: StripeSignature.header(payload: delivery.payload, secret: endpoint.secret, timestamp: Int64(Date().timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(bytes: delivery.payload))
        do {
            let response = try await http.execute(request, timeout: timeout.timeAmount)
            _ = try await response.body.collect(upTo: 1 << 20)
            let accepted = (200..<300).contains(Int(response.status.code))
            if accepted { logger.debug("webhook delivered", metadata: ["event": "\(delivery.eventId)", "type": "\(delivery.eventType)"]) }
            return accepted
        } catch {
            logger.debug("webhook not delivered", metadata: ["event": "\(delivery.eventId)", "error": "\(error)"])
            return false
        }
    }
}
