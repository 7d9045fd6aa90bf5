import Foundation
import HTTPSupport
import Logging
import PostgresNIO
import StripeClient

/// The receiving end of Stripe webhooks: verify the signature over the raw body, store the
/// event once by id, acknowledge. Processing happens later from storage (WebhookProcessor),
/// so a crash after the acknowledgement loses nothing and duplicates are acknowledged only.
/// A type the processor does not act on is acknowledged and not stored.
struct WebhookReceiver: Sendable {
    let postgres: PostgresClient
    let secrets: [String]
    let logger: Logger
    let wake: @Sendable () -> Void

    enum Outcome: Equatable {
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
        let inserted = try await postgres.query(
            """
            INSERT INTO stripe_events (id, type, created, payload) VALUES (\(head.id), \(head.type), \(head.created), \(Data(payload)))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        logger.info(
            "stripe webhook received",
            metadata: ["stripe_event": "\(head.id)", "type": "\(head.type)", "duplicate": "\(inserted.isEmpty)"])
        if inserted.isEmpty { return .duplicate }
        wake()
        return .stored
    }
}
