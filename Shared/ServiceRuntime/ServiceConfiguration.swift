import Foundation
import HTTPSupport
import Logging
import Messaging
import Persistence

/// Everything a service reads from its environment, with working local defaults; in
/// production a missing required setting stops start-up with an error naming the variable.
public struct ServiceConfiguration: Sendable {
    public enum Mode: String, Sendable {
        case development, test, production
    }

    public enum LogFormat: String, Sendable {
        case json, text
    }

    public var mode: Mode
    public var serviceName: String
    public var httpHost: String
    public var httpPort: Int
    public var database: DatabaseConfiguration
    public var kafka: KafkaConfiguration
    /// Prepended to every topic name, so tests can run on isolated topics.
    public var topicPrefix: String
    public var jwtSecret: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var outboxRetention: Duration
    /// Browser origins allowed by CORS (exact matches, e.g. `https://shop.example`); none by default.
    public var corsAllowedOrigins: [String] = []
    /// The per-user limit on the rate-limited routes (payments, payouts), per instance.
    public var rateLimit = RateLimiter.Limit(perMinute: 30, burst: 10)
    /// This instance's stable name in its consumer group (static membership): a restarted
    /// instance takes its partitions back without waiting for its old session to expire. Two
    /// instances must never share one; `KAFKA_GROUP_INSTANCE_ID` (default `<hostname>-<HTTP port>`,
    /// `none` for dynamic membership).
    public var groupInstanceId: String?
    /// NIO event loop threads, `EVENT_LOOP_THREADS` (1-64; default one per core). Several
    /// services sharing a few cores do better with 1: with one per core, work hops between the
    /// loops and Swift's concurrency pool, and 29 % of the services' CPU went to the kernel
    /// switching threads (`scripts/bench checkout` at 64 buyers: 35-39 held/s with 1, 30-31 with 2).
    public var eventLoopThreads: Int?
    /// The whole environment, for a service's own settings (see `setting(_:default:)`).
    public var environment: [String: String] = [:]

    /// The local-development secret; refused in production.
    static let developmentJWTSecret = "escrowmarket-local-development-secret"

    public init(
        mode: Mode, serviceName: String, httpHost: String, httpPort: Int, database: DatabaseConfiguration,
        kafka: KafkaConfiguration, topicPrefix: String = "", jwtSecret: String, logLevel: Logger.Level = .info,
        logFormat: LogFormat = .json, outboxRetention: Duration = .seconds(7 * 86_400)
    ) {
        self.mode = mode
        self.serviceName = serviceName
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.database = database
        self.kafka = kafka
        self.topicPrefix = topicPrefix
        self.jwtSecret = jwtSecret
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.outboxRetention = outboxRetention
    }

    /// Reads `APP_ENV`, `HTTP_HOST`, `HTTP_PORT`, `DATABASE_URL`, `DATABASE_SCHEMA`,
    /// `DATABASE_MAX_CONNECTIONS`, `KAFKA_BROKERS`, `KAFKA_TOPIC_PREFIX`, `JWT_SECRET`,
    /// `LOG_LEVEL`, `LOG_FORMAT`, `OUTBOX_RETENTION_HOURS`, `CORS_ALLOWED_ORIGINS` (comma-separated),
    /// `RATE_LIMIT_PER_MINUTE`, `RATE_LIMIT_BURST`, `EVENT_LOOP_THREADS`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, service: ServiceIdentity
    ) throws -> ServiceConfiguration {
        let reader = EnvironmentReader(environment)
        let mode: Mode = try reader.parse("APP_ENV", default: .development) { Mode(rawValue: $0) }
        let production = mode == .production
        let schema = reader.value("DATABASE_SCHEMA") ?? service.schema
        let databaseURL = try reader.required(
            "DATABASE_URL", inProduction: production,
            default: "postgres://\(schema):\(schema)@127.0.0.1:5432/escrowmarket")
        let database: DatabaseConfiguration
        do {
            database = try DatabaseConfiguration(
                url: databaseURL, schema: schema,
                maximumConnections: try reader.parse("DATABASE_MAX_CONNECTIONS", default: 10) { Int($0) })
        } catch let error as PersistenceError {
            throw ConfigurationError(variable: "DATABASE_URL", message: error.message)
        }
        let jwtSecret = try reader.required("JWT_SECRET", inProduction: production, default: developmentJWTSecret)
        if jwtSecret.utf8.count < JWTAuthenticator.minimumSecretLength {
            throw ConfigurationError(
                variable: "JWT_SECRET", message: "must be at least \(JWTAuthenticator.minimumSecretLength) bytes")
        }
        let brokers = try reader.required("KAFKA_BROKERS", inProduction: production, default: "127.0.0.1:9092")
        var configuration = ServiceConfiguration(
            mode: mode,
            serviceName: service.name,
            httpHost: reader.value("HTTP_HOST") ?? (production ? "0.0.0.0" : "127.0.0.1"),
            httpPort: try reader.parse("HTTP_PORT", default: service.defaultPort) { Int($0).flatMap { (1...65535).contains($0) ? $0 : nil } },
            database: database,
            kafka: KafkaConfiguration(
                brokers: brokers, clientId: service.name,
                consumerProperties: try reader.parse("KAFKA_CONSUMER_PROPERTIES", default: [:]) { Self.properties($0) }),
            topicPrefix: reader.value("KAFKA_TOPIC_PREFIX") ?? "",
            jwtSecret: jwtSecret,
            logLevel: try reader.parse("LOG_LEVEL", default: .info) { Logger.Level(rawValue: $0.lowercased()) },
            logFormat: try reader.parse("LOG_FORMAT", default: .json) { LogFormat(rawValue: $0.lowercased()) },
            outboxRetention: .seconds(3600 * (try reader.parse("OUTBOX_RETENTION_HOURS", default: 168) { Int($0) }))
        )
        configuration.corsAllowedOrigins = (reader.value("CORS_ALLOWED_ORIGINS") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let positive: (String) -> Int? = { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        configuration.rateLimit = RateLimiter.Limit(
            perMinute: try reader.parse("RATE_LIMIT_PER_MINUTE", default: 30, positive),
            burst: try reader.parse("RATE_LIMIT_BURST", default: 10, positive))
        configuration.eventLoopThreads = try reader.parse("EVENT_LOOP_THREADS", default: nil) { text in
            Int(text).flatMap { (1...64).contains($0) ? $0 : nil }.map { Optional($0) }
        }
        switch reader.value("KAFKA_GROUP_INSTANCE_ID") {
        case "none", "": configuration.groupInstanceId = nil
        case let id?: configuration.groupInstanceId = id
        case nil: configuration.groupInstanceId = "\(Self.hostname())-\(configuration.httpPort)"
        }
        configuration.environment = environment
        return configuration
    }

    /// librdkafka properties as `key=value` pairs separated by commas (e.g. shorter group
    /// timeouts for tests); nil when a pair is malformed.
    static func properties(_ text: String) -> [String: String]? {
        var properties: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            properties[parts[0]] = parts[1]
        }
        return properties
    }

    /// A service's own text setting, nil when unset or empty.
    public func stringSetting(_ name: String) -> String? {
        EnvironmentReader(environment).value(name)
    }

    /// A service's own whole-number setting (e.g. `ORDER_PAYMENT_TIMEOUT_SECONDS`); a malformed
    /// or negative value is a start-up error naming the variable.
    public func setting(_ name: String, default fallback: Int) throws -> Int {
        try EnvironmentReader(environment).parse(name, default: fallback) { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
    }

    /// A topic's name for this deployment.
    public func topic(_ base: String) -> String {
        topicPrefix + base
    }
}

/// Which service this is and its local defaults.
public struct ServiceIdentity: Sendable {
    /// e.g. `order-service`: logs, consumer group and inbox consumer name.
    public var name: String
    /// The service's own Postgres schema and role.
    public var schema: String
    public var defaultPort: Int

    public init(name: String, schema: String, defaultPort: Int) {
        self.name = name
        self.schema = schema
        self.defaultPort = defaultPort
    }
}

/// A setting that is missing or malformed; names the variable.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var variable: String
    public var message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "configuration error: \(variable) \(message)" }
}

struct EnvironmentReader {
    let environment: [String: String]

    init(_ environment: [String: String]) {
        self.environment = environment
    }

    func value(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func required(_ name: String, inProduction production: Bool, default fallback: String) throws -> String {
        if let value = value(name) { return value }
        if production { throw ConfigurationError(variable: name, message: "is required when APP_ENV=production") }
        return fallback
    }

    func parse<Value>(_ name: String, default fallback: Value, _ transform: (String) -> Value?) throws -> Value {
        guard let text = value(name) else { return fallback }
        guard let parsed = transform(text) else {
            throw ConfigurationError(variable: name, message: "has an invalid value '\(text)'")
        }
        return parsed
    }
}

extension ServiceConfiguration {
    /// The machine's host name (a container's id under Docker), for a default instance name.
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
