import Foundation
import HTTPSupport
import Logging
import PostgresNIO
import StripeClient

/// The receiving end of Stripe webhooks: verify the signature over the raw body, store the
/// event once by id and apply it in the same transaction, acknowledge. An event that cannot be
/// applied yet is stored alone and applied later from storage (WebhookProcessor), so a crash
/// after the acknowledgement loses nothing and duplicates are acknowledged only. A type the
/// processor does not act on is acknowledged and not stored.
struct WebhookReceiver: Sendable {
    let postgres: PostgresClient
    let secrets: [String]
    let processor: WebhookProcessor
    let logger: Logger
    let wake: @Sendable () -> Void

    enum Outcome: Equatable {
        /// Stored and applied before the answer.
        case applied
        /// Stored for the processor: it waits for something we do not know yet, or failed to apply now.
        case stored
        case duplicate
        /// Nothing here acts on this type (`WebhookProcessor.handledTypes`).
        case ignored
    }

    func receive(payload: [UInt8], signature: String?) async throws -> Outcome {
        do {
            try StripeSignature.verify(payload: payload, header: signature, secrets: secrets)
        } catch {
            logger.warning("webhook signature rejected", metadata: ["reason": "\(error)"])
            throw Problem.badRequest("The Stripe-Signature header is missing, malformed, stale or does not match.")
        }
        struct Head: Decodable {
            var id: String
            var type: String
            var created: Int64
        }
        guard let head = try? JSONDecoder().decode(Head.self, from: Data(payload)) else {
            throw Problem.badRequest("The body is not a Stripe event.")
        }
        // Stripe sends every type the endpoint subscribes to (the simulator: all of them), and a
        // stored event costs two commits (stored, then processed) even when nothing acts on it:
        // a checkout's payment_intent.created and charge.succeeded were two of its three.
        guard WebhookProcessor.handledTypes.contains(head.type) else {
            logger.debug("stripe webhook of a type not acted on; acknowledged", metadata: ["stripe_event": "\(head.id)", "type": "\(head.type)"])
            return .ignored
        }
        let metadata: Logger.Metadata = ["stripe_event": "\(head.id)", "type": "\(head.type)"]
        do {
            let outcome: Outcome
            switch try await processor.storeAndApply(id: head.id, type: head.type, created: head.created, payload: Data(payload)) {
            case nil: outcome = .duplicate
            case true?: outcome = .applied
            case false?: outcome = .stored
            }
            logger.info("stripe webhook received", metadata: metadata.merging(["outcome": "\(outcome)"]) { $1 })
            return outcome
        } catch {
            if Task.isCancelled { throw error }
            logger.warning(
                "stripe webhook not applied on receipt; stored for the processor", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        let inserted = try await postgres.query(
            """
            INSERT INTO stripe_events (id, type, created, payload) VALUES (\(head.id), \(head.type), \(head.created), \(Data(payload)))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        if inserted.isEmpty { return .duplicate }
        wake()
        return .stored
    }
}
