import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import JWTKit
import Messaging
import NIOCore
import Persistence
import PostgresNIO
import ServiceRuntime
import TestSupport

@testable import OrderService

/// OrderService running for real (HTTP, Postgres schema, broker topics of its own) for one test.
struct OrderServiceHarness: Sendable {
    static let secret = "order-service-tests-secret-32-bytes!!"

    let database: TestDatabase
    let client: any TestClientProtocol
    let topicPrefix: String
    let keys: JWTKeyCollection

    /// Runs `body` with a live OrderService; `environment` adds settings (e.g. short timeouts).
    static func run(
        environment extra: [String: String] = [:], _ body: @Sendable (OrderServiceHarness) async throws -> Void
    ) async throws {
        let prefix = TestEnvironment.uniqueName("t") + "."
        try await KafkaAdmin.createTopics(
            [Topic.orders, Topic.payments, Topic.escrow].flatMap { [prefix + $0, prefix + Topic.deadLetter(of: $0)] },
            partitions: 3, configuration: TestEnvironment.kafka())
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        try await TestDatabase.withSchema(prefix: "orders", migrations: []) { database in
            var environment = [
                "APP_ENV": "test", "DATABASE_URL": TestEnvironment.databaseURL, "DATABASE_SCHEMA": database.schema,
                "DATABASE_MAX_CONNECTIONS": "40", "KAFKA_BROKERS": TestEnvironment.brokers, "KAFKA_TOPIC_PREFIX": prefix,
                "JWT_SECRET": secret, "ORDER_TIMER_INTERVAL_SECONDS": "1",
            ]
            environment.merge(extra) { _, new in new }
            var configuration = try ServiceConfiguration.fromEnvironment(environment, service: ServiceDefinition.orderService.identity)
            configuration.httpPort = 0
            var options = RuntimeOptions()
            options.consumerProperties = KafkaConfiguration.fastGroupProperties
            let app = try await buildApplication(.orderService, configuration: configuration, options: options, logger: TestEnvironment.logger)
            try await app.test(.live) { client in
                let harness = OrderServiceHarness(database: database, client: client, topicPrefix: prefix, keys: keys)
                try await harness.waitUntilReady()
                try await body(harness)
            }
        }
    }

    func waitUntilReady() async throws {
        for _ in 0..<100 {
            let status = try await client.execute(uri: "/health/ready", method: .get) { $0.status }
            if status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("OrderService did not become ready")
    }

    func token(_ user: String, _ roles: [String], email: String? = nil) async throws -> String {
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
    func call(
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

    func createListing(seller: String, price: Int64 = 2500, currency: String = "usd", stock: Int = 10) async throws -> UUID {
        let reply = try await call(
            .post, "/api/v1/listings", as: seller, roles: ["seller"],
            body: ["title": JSONValue.string("Item of \(seller)"), "priceAmount": .integer(price), "currency": .string(currency), "stock": .integer(Int64(stock))])
        guard reply.status == .created else { throw HarnessError("listing not created: \(reply.status) \(reply.text)") }
        return try UUID(uuidString: reply.json()["id"] as? String ?? "").orThrow("listing id")
    }

    static let address: JSONValue = .object([
        "name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "us",
    ])

    /// Places a one-listing order and returns its id.
    func placeOrder(buyer: String, listing: UUID, quantity: Int = 1) async throws -> UUID {
        let reply = try await call(
            .post, "/api/v1/orders", as: buyer, roles: ["buyer"],
            body: ["listingId": JSONValue.string(listing.uuidString), "quantity": .integer(Int64(quantity)), "shippingAddress": Self.address],
            idempotencyKey: UUID().uuidString)
        guard reply.status == .created else { throw HarnessError("order not created: \(reply.status) \(reply.text)") }
        return try UUID(uuidString: reply.json()["id"] as? String ?? "").orThrow("order id")
    }

    /// Publishes an event on one of this test's topics, as another service would.
    func publish<Payload: DomainEventPayload>(_ payload: Payload, topic: String, aggregateId: String, id: UUID = UUID()) async throws {
        let envelope = try EventEnvelope(id: id, payload: payload, aggregateId: aggregateId, correlationId: "test", producer: "tests")
        let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
        defer { producer.shutdown() }
        let result = await producer.send([OutgoingMessage(topic: topicPrefix + topic, key: aggregateId, value: Array(try envelope.encoded()))])
        try result[0].get()
    }

    func status(of order: UUID) async throws -> String? {
        try await database.client.query("SELECT status FROM orders WHERE id = \(order)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

    func stock(of listing: UUID) async throws -> (stock: Int, reserved: Int, sold: Int) {
        let rows = try await database.client.query(
            "SELECT stock, reserved, sold FROM listings WHERE id = \(listing)", logger: TestEnvironment.logger
        ).decode((Int, Int, Int).self).all()
        return rows[0]
    }

    func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

struct HTTPReply: Sendable {
    var status: HTTPResponse.Status
    var body: Data
    var headers: HTTPFields

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: Any] {
        try (JSONSerialization.jsonObject(with: body) as? [String: Any]).orThrow("JSON object body")
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Optional {
    func orThrow(_ what: String) throws -> Wrapped {
        guard let self else { throw HarnessError("missing \(what)") }
        return self
    }
}
