import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import Messaging
import NIOConcurrencyHelpers
import NIOCore
import Persistence
import PostgresNIO
import ServiceRuntime
import StripeClient

/// One service running for real (HTTP, its own Postgres schema, its own broker topics) for one
/// test, with helpers to call it as a user and to publish events as other services would.
public struct ServiceHarness: Sendable {
    public static let secret = "service-harness-tests-secret-32-bytes!"

    public let database: TestDatabase
    public let client: any TestClientProtocol
    public let topicPrefix: String
    /// The Stripe simulator this test's service talks to (PaymentService and EscrowService),
    /// unless the test points it at another Stripe API itself.
    public let stripe: SimulatorHarness?
    let keys: JWTKeyCollection

    /// The services that call Stripe.
    static let stripeServices: Set<String> = ["payment-service", "escrow-service"]

    /// Runs `body` with the service live; `environment` adds settings (e.g. short timeouts).
    /// Services of one test that talk to each other share a `topicPrefix`.
    public static func run(
        _ definition: ServiceDefinition, topics: [String], topicPrefix: String? = nil, environment extra: [String: String] = [:],
        _ body: @Sendable (ServiceHarness) async throws -> Void
    ) async throws {
        let prefix = topicPrefix ?? (TestEnvironment.uniqueName("t") + ".")
        try await KafkaAdmin.createTopics(
            topics.flatMap { [prefix + $0, prefix + Topic.deadLetter(of: $0)] }, partitions: 3,
            configuration: TestEnvironment.kafka())
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        // Each test gets a simulator of its own: its objects, faults and webhooks are the test's.
        let stripe = stripeServices.contains(definition.identity.name) && extra["STRIPE_API_BASE"] == nil
            ? try await SimulatorHarness(webhookSecret: WebhookSecrets.localSecret) : nil
        defer { stripe?.stop() }
        try await TestDatabase.withSchema(prefix: definition.identity.schema, migrations: []) { database in
            var environment = [
                "APP_ENV": "test", "DATABASE_URL": TestEnvironment.databaseURL, "DATABASE_SCHEMA": database.schema,
                "DATABASE_MAX_CONNECTIONS": "20", "KAFKA_BROKERS": TestEnvironment.brokers, "KAFKA_TOPIC_PREFIX": prefix,
                "JWT_SECRET": secret,
                // Dynamic membership: a test's group is new and never restarted, and joins faster so.
                "KAFKA_GROUP_INSTANCE_ID": "none",
            ]
            if let stripe {
                environment["STRIPE_SECRET_KEY"] = SimulatorHarness.secretKey
                environment["STRIPE_API_BASE"] = stripe.url
            }
            environment.merge(extra) { _, new in new }
            var configuration = try ServiceConfiguration.fromEnvironment(environment, service: definition.identity)
            configuration.httpPort = 0
            let options = RuntimeOptions()
            // Short group timeouts and fetch waits for the local broker; a test's own settings win.
            configuration.kafka.consumerProperties = KafkaConfiguration.testConsumerProperties
                .merging(configuration.kafka.consumerProperties) { _, own in own }
            let app = try await buildApplication(definition, configuration: configuration, options: options, logger: TestEnvironment.logger)
            // A failing body must still stop the service gracefully: thrown out of `app.test`, its
            // error would cancel every service at once, and a consumer waiting for a database
            // connection from the already-stopped pool would wait forever.
            let failure = NIOLockedValueBox<(any Error)?>(nil)
            try await app.test(.live) { client in
                let harness = ServiceHarness(database: database, client: client, topicPrefix: prefix, stripe: stripe, keys: keys)
                do {
                    try await harness.waitUntilReady()
                    // Stripe's webhooks go to PaymentService, the only receiver of gateway events.
                    if let stripe, definition.identity.name == "payment-service", let port = client.port {
                        try await stripe.control(.PUT, "/_sim/config", ["webhookUrl": .string("http://127.0.0.1:\(port)/api/v1/stripe/webhook")])
                    }
                    try await body(harness)
                } catch {
                    TestEnvironment.logger.error("test body failed", metadata: ["error": "\(String(reflecting: error))"])
                    failure.withLockedValue { $0 = error }
                }
            }
            if let error = failure.withLockedValue({ $0 }) { throw error }
        }
    }

    /// The live server's port, for callers outside the process (e.g. webhooks from localstripe).
    public var port: Int? { client.port }

    func waitUntilReady() async throws {
        for _ in 0..<100 {
            let status = try await client.execute(uri: "/health/ready", method: .get) { $0.status }
            if status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("the service did not become ready")
    }

    public func token(_ user: String, _ roles: [String], email: String? = nil) async throws -> String {
        struct Claims: JWTPayload {
            var sub: SubjectClaim
            var roles: [String]
            var email: String?
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        return try await keys.sign(
            Claims(sub: .init(value: user), roles: roles, email: email ?? "\(user)@example.test", exp: .init(value: Date().addingTimeInterval(600))))
    }

    /// Sends a JSON request as `user`; returns status, body and headers.
    @discardableResult
    public func call(
        _ method: HTTPRequest.Method, _ path: String, as user: String, roles: [String], body: (any Encodable)? = nil,
        idempotencyKey: String? = nil
    ) async throws -> HTTPReply {
        var headers: HTTPFields = [.authorization: "Bearer \(try await token(user, roles))", .contentType: "application/json"]
        if let idempotencyKey { headers[.idempotencyKey] = idempotencyKey }
        let buffer = try body.map { ByteBuffer(data: try EventCoding.encoder.encode($0)) }
        return try await client.execute(uri: path, method: method, headers: headers, body: buffer) { response in
            HTTPReply(status: response.status, body: Data(buffer: response.body), headers: response.headers)
        }
    }

    /// The service's `GET /metrics` text.
    public func metrics() async throws -> String {
        try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
    }

    /// Whether `/metrics` shows `line` (e.g. `payouts{status="failed"} 1`) within the timeout:
    /// its gauges are recomputed at most every 5 s.
    public func eventuallyMetrics(show line: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        try await eventually(timeout: timeout) { try await metrics().split(separator: "\n").contains { $0 == line } }
    }

    /// Sends raw bytes with the given headers and no token (e.g. a webhook).
    public func post(_ path: String, bytes: [UInt8], headers: HTTPFields, method: HTTPRequest.Method = .post) async throws -> HTTPReply {
        try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: bytes)) { response in
            HTTPReply(status: response.status, body: Data(buffer: response.body), headers: response.headers)
        }
    }

    /// Publishes an event on one of this test's topics, as another service would.
    public func publish<Payload: DomainEventPayload>(
        _ payload: Payload, topic: String, aggregateId: String, id: UUID = UUID()
    ) async throws {
        let envelope = try EventEnvelope(id: id, payload: payload, aggregateId: aggregateId, correlationId: "test", producer: "tests")
        let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
        defer { producer.shutdown() }
        let result = await producer.send([OutgoingMessage(topic: topicPrefix + topic, key: aggregateId, value: Array(try envelope.encoded()))])
        try result[0].get()
    }

    /// Publishes a ready-made envelope (for payloads that are not `DomainEventPayload`s).
    public func publish(envelope: EventEnvelope, topic: String) async throws {
        let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
        defer { producer.shutdown() }
        let result = await producer.send([OutgoingMessage(topic: topicPrefix + topic, key: envelope.aggregateId, value: Array(try envelope.encoded()))])
        try result[0].get()
    }

    /// How many events of a type the service has written to its outbox.
    public func outboxCount(_ type: String) async throws -> Int {
        try await database.count("SELECT count(*) FROM outbox WHERE event_type = \(type)")
    }

    public func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

public struct HTTPReply: Sendable {
    public var status: HTTPResponse.Status
    public var body: Data
    public var headers: HTTPFields

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json() throws -> [String: Any] {
        try (JSONSerialization.jsonObject(with: body) as? [String: Any]).orThrow("JSON object body")
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Optional {
    public func orThrow(_ what: String) throws -> Wrapped {
        guard let self else { throw HarnessError("missing \(what)") }
        return self
    }
}
