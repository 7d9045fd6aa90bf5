import Foundation
import Logging
import ServiceRuntime
import StripeClient

/// Which Stripe API a service talks to: always over HTTP through `StripeClient`, so local runs
/// exercise the production code path. Outside production, without settings, that is the Stripe
/// simulator (`Tools/StripeSimulator`) on its default address. Production takes no simulated money: with
/// `APP_ENV=production` a service refuses to start unless it has `STRIPE_SECRET_KEY` and
/// `STRIPE_API_BASE` is Stripe's own API. `STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION=1` lifts the
/// second rule for a demo deployment (compose's local run), and says so loudly at every start.
public enum GatewaySettings {
    public static let stripeAPI = "https://api.stripe.com"
    /// Where `scripts/dev up` runs the simulator, and the test key it is called with.
    public static let localSimulatorAPI = "http://127.0.0.1:12111"
    public static let localSimulatorKey = "sk_test_escrowmarket_local_simulator"

    /// `STRIPE_TIMEOUT_MS` (default 30 s) bounds one call; `STRIPE_MAX_ATTEMPTS` (default 5) is how
    /// often the client itself tries a call that may be retried (gateway commands retry beyond that).
    public static func stripe(_ configuration: ServiceConfiguration, logger: Logger) throws -> StripeClient.Configuration {
        var client = try endpoint(configuration, logger: logger)
        client.timeout = .milliseconds(Int64(try configuration.setting("STRIPE_TIMEOUT_MS", default: 30_000)))
        client.retry.maximumAttempts = max(1, try configuration.setting("STRIPE_MAX_ATTEMPTS", default: 5))
        if configuration.mode != .production {
            logger.info("stripe api", metadata: ["stripe_api_base": "\(client.baseURL)"])
        }
        return client
    }

    private static func endpoint(_ configuration: ServiceConfiguration, logger: Logger) throws -> StripeClient.Configuration {
        let key = configuration.stringSetting("STRIPE_SECRET_KEY")
        guard configuration.mode == .production else {
            let base = configuration.stringSetting("STRIPE_API_BASE") ?? (key == nil ? localSimulatorAPI : stripeAPI)
            return StripeClient.Configuration(secretKey: key ?? localSimulatorKey, baseURL: base)
        }
        let base = configuration.stringSetting("STRIPE_API_BASE") ?? stripeAPI
        guard let key else {
            throw ConfigurationError(
                variable: "STRIPE_SECRET_KEY", message: "is required when APP_ENV=production (production takes no simulated money)")
        }
        if normalized(base) != stripeAPI {
            guard configuration.stringSetting("STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION") == "1" else {
                throw ConfigurationError(
                    variable: "STRIPE_API_BASE",
                    message: "must be \(stripeAPI) when APP_ENV=production (set STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION=1 for a demo)")
            }
            logger.critical(
                "APP_ENV=production but payments go to a Stripe simulator, not Stripe: no real money moves (STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION=1)",
                metadata: ["stripe_api_base": "\(base)"])
        } else if key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_") {
            logger.warning("APP_ENV=production with a Stripe test-mode key: no real money moves")
        }
        return StripeClient.Configuration(secretKey: key, baseURL: base)
    }

    static func normalized(_ base: String) -> String {
        base.hasSuffix("/") ? String(base.dropLast()) : base
    }
}
