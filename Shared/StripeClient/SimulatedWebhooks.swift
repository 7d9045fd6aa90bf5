import EventContracts
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// What the simulated gateways (used without Stripe keys) share: Stripe-shaped ids and events,
/// signed and POSTed to a webhook endpoint exactly as Stripe would, so both modes run the same
/// verification, storage and processing.
public enum SimulatedWebhooks {
    /// The signing secret when none is configured (local development and tests only).
    public static let localSecret = "whsec_escrowmarket_local_simulated_gateway"

    /// The secrets in `STRIPE_WEBHOOK_SECRET` (comma-separated while secrets rotate). In
    /// production one is required whatever the gateway: `localSecret` is public, so anyone could
    /// sign events with it, e.g. `payment_intent.succeeded` for their own payment.
    public static func webhookSecrets(_ text: String?, production: Bool) throws -> [String] {
        let secrets = (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !secrets.isEmpty { return secrets }
        guard !production else { throw MissingWebhookSecret() }
        return [localSecret]
    }

    public struct MissingWebhookSecret: Error, CustomStringConvertible {
        public var description: String {
            "configuration error: STRIPE_WEBHOOK_SECRET is required in production (the local default is public)"
        }
    }

    /// A random id suffix, like Stripe's.
    public static func token() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24).description
    }

    /// A Stripe event around `object`; `account` marks events from a connected account.
    public static func event(type: String, object: JSONValue, account: String? = nil) -> [UInt8] {
        var event: [String: JSONValue] = [
            "id": .string("evt_sim_\(token())"), "object": "event", "type": .string(type),
            "created": .integer(Int64(Date().timeIntervalSince1970)), "livemode": false,
            "api_version": .string(StripeClient.pinnedVersion), "data": ["object": object],
        ]
        if let account { event["account"] = .string(account) }
        return Array((try? JSONEncoder().encode(JSONValue.object(event))) ?? Data())
    }

    /// Signs and POSTs `payload` to `url`, retrying connection failures a few times; true when
    /// the endpoint accepted it.
    @discardableResult
    public static func deliver(payload: [UInt8], secret: String, to url: String, logger: Logger) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(
            name: "Stripe-Signature",
            value: StripeSignature.header(payload: payload, secret: secret, timestamp: Int64(Date().timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(bytes: payload))
        for attempt in 1...5 {
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 64 * 1024)
                if response.status == .ok { return true }
                logger.error("simulated webhook refused", metadata: ["status": "\(response.status.code)", "url": "\(url)"])
                return false
            } catch {
                logger.warning("simulated webhook delivery failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }
}
