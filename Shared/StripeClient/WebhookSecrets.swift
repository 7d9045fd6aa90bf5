import Foundation

/// The secrets webhooks are signed with (`STRIPE_WEBHOOK_SECRET`).
public enum WebhookSecrets {
    /// The signing secret when none is configured (local development and tests only; the Stripe
    /// simulator signs with the same one unless told otherwise).
    public static let localSecret = "whsec_escrowmarket_local_simulated_gateway"

    /// The secrets in `STRIPE_WEBHOOK_SECRET` (comma-separated while secrets rotate). In
    /// production one is required: `localSecret` is public, so anyone could sign events with it,
    /// e.g. `payment_intent.succeeded` for their own payment.
    public static func parse(_ text: String?, production: Bool) throws -> [String] {
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
}
