import Foundation
import Logging

/// The console's configuration from the environment, with local defaults (the stack of
/// `scripts/dev up`); in production the service URLs are required.
struct ConsoleSettings: Sendable {
    enum Mode: String, Sendable {
        case development, test, production
    }

    var mode: Mode
    var httpHost: String
    var httpPort: Int
    /// Base URLs of the four services, by the console's route prefix (`/api/<name>/...`).
    var upstreams: [String: String]
    /// Signs development tokens; never read in production, where the marketplace's identity provider issues them.
    var jwtSecret: String?
    var upstreamTimeout: Duration
    var logLevel: Logger.Level
    /// Stripe's publishable key (`pk_test_…`/`pk_live_…`): when set, buyers pay in Stripe's Payment
    /// Element (Stripe.js) instead of picking a test card; PaymentService must then use the same
    /// Stripe account (stripe mode). Public by design: it only identifies the account.
    var stripePublishableKey: String?

    /// The development sign-in exists only outside production.
    var devSignIn: Bool { mode != .production }

    static let developmentJWTSecret = "escrowmarket-local-development-secret"
    static let services: [(prefix: String, variable: String, port: Int)] = [
        ("orders", "ORDER_SERVICE_URL", 8081),
        ("payments", "PAYMENT_SERVICE_URL", 8082),
        ("escrow", "ESCROW_SERVICE_URL", 8083),
        ("notifications", "NOTIFICATION_SERVICE_URL", 8084),
    ]

    /// `pk_test_`/`pk_live_` and a short run of letters and digits: anything else (above all an
    /// `sk_` secret key pasted by mistake) must never be handed to browsers.
    static func isPublishableKey(_ key: String) -> Bool {
        (key.hasPrefix("pk_test_") || key.hasPrefix("pk_live_")) && (9...255).contains(key.count)
            && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConsoleSettings {
        let env = SettingsReader(environment: environment)
        guard let mode = Mode(rawValue: env.stringSetting("APP_ENV") ?? "development") else {
            throw ConsoleConfigurationError(variable: "APP_ENV", message: "must be development, test or production")
        }
        let production = mode == .production
        var upstreams: [String: String] = [:]
        for service in services {
            guard let url = env.stringSetting(service.variable) ?? (production ? nil : "http://127.0.0.1:\(service.port)") else {
                throw ConsoleConfigurationError(variable: service.variable, message: "is required when APP_ENV=production")
            }
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
                throw ConsoleConfigurationError(variable: service.variable, message: "must be an http(s) URL")
            }
            upstreams[service.prefix] = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        var secret: String?
        if !production {
            secret = env.stringSetting("JWT_SECRET") ?? developmentJWTSecret
            if secret!.utf8.count < 32 {
                throw ConsoleConfigurationError(variable: "JWT_SECRET", message: "must be at least 32 bytes")
            }
        }
        let port = try env.setting("HTTP_PORT", default: 8080)
        guard (1...65535).contains(port) else {
            throw ConsoleConfigurationError(variable: "HTTP_PORT", message: "must be a port number")
        }
        let timeout = try env.setting("CONSOLE_UPSTREAM_TIMEOUT_SECONDS", default: 30)
        guard let level = Logger.Level(rawValue: (env.stringSetting("LOG_LEVEL") ?? "info").lowercased()) else {
            throw ConsoleConfigurationError(variable: "LOG_LEVEL", message: "is not a log level")
        }
        let publishableKey = env.stringSetting("STRIPE_PUBLISHABLE_KEY")
        if let publishableKey, !Self.isPublishableKey(publishableKey) {
            throw ConsoleConfigurationError(
                variable: "STRIPE_PUBLISHABLE_KEY", message: "must be a Stripe publishable key (pk_test_… or pk_live_…), never a secret key")
        }
        return ConsoleSettings(
            mode: mode, httpHost: env.stringSetting("HTTP_HOST") ?? (production ? "0.0.0.0" : "127.0.0.1"),
            httpPort: port, upstreams: upstreams, jwtSecret: secret, upstreamTimeout: .seconds(max(1, timeout)),
            logLevel: level, stripePublishableKey: publishableKey)
    }
}

/// A setting that is missing or malformed; names the variable.
struct ConsoleConfigurationError: Error, CustomStringConvertible {
    var variable: String
    var message: String
    var description: String { "configuration error: \(variable) \(message)" }
}

struct SettingsReader {
    let environment: [String: String]

    /// A text setting, nil when unset or empty.
    func stringSetting(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// A whole-number setting; a malformed or negative value is an error naming the variable.
    func setting(_ name: String, default fallback: Int) throws -> Int {
        guard let text = stringSetting(name) else { return fallback }
        guard let value = Int(text), value >= 0 else {
            throw ConsoleConfigurationError(variable: name, message: "has an invalid value '\(text)'")
        }
        return value
    }
}
