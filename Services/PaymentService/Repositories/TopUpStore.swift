import EventContracts
import Foundation
import Hummingbird
import Logging
import Messaging
import PostgresNIO

/// A buyer's wallet top-up as stored and shown.
struct TopUp: Sendable, Equatable, Encodable, ResponseEncodable {
    var id: UUID
    var buyerId: String
    var amount: Int64
    var currency: String
    /// `requires_payment`, `processing`, `failed` (another card may be tried) or `succeeded`.
    var status: String
    var intentId: String?
    var clientSecret: String?
    var failureReason: String?
    var createdAt: Date
    var updatedAt: Date
}

/// Top-ups in Postgres; a success writes `wallet.topped_up` to the outbox in its transaction.
struct TopUpStore: Sendable {
    let logger: Logger
    let topic: String

    static let columns = "id, buyer_id, amount, currency, status, intent_id, client_secret, failure_reason, created_at, updated_at"

    /// The top-up of this request key, made now if it is new (the key is the buyer's Idempotency-Key).
    func create(buyer: String, amount: Int64, currency: String, key: String, on connection: PostgresConnection) async throws -> TopUp {
        try await connection.query(
            """
            INSERT INTO top_ups (id, buyer_id, amount, currency, status, request_key)
            VALUES (\(UUID()), \(buyer), \(amount), \(currency), 'requires_payment', \(key))
            ON CONFLICT (request_key) DO NOTHING
            """, logger: logger)
        return try await find(where: "request_key = \(key)", lock: false, on: connection)!
    }

    func find(where condition: PostgresQuery, lock: Bool, on connection: PostgresConnection) async throws -> TopUp? {
        var query = PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM top_ups WHERE ")
        query.sql += condition.sql
        query.binds = condition.binds
        if lock { query.sql += " FOR UPDATE" }
        return try await topUps(query, on: connection).first
    }

    func list(buyer: String, limit: Int, on connection: PostgresConnection) async throws -> [TopUp] {
        try await topUps(
            "SELECT \(unescaped: Self.columns) FROM top_ups WHERE buyer_id = \(buyer) ORDER BY created_at DESC, id DESC LIMIT \(limit)",
            on: connection)
    }

    private func topUps(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [TopUp] {
        try await connection.query(query, logger: logger).decode(
            (UUID, String, Int64, String, String, String?, String?, String?, Date, Date).self
        ).all().map {
            TopUp(
                id: $0.0, buyerId: $0.1, amount: $0.2, currency: $0.3, status: $0.4, intentId: $0.5, clientSecret: $0.6,
                failureReason: $0.7, createdAt: $0.8, updatedAt: $0.9)
        }
    }

    /// Stripe refused to make the intent: nothing was charged, the buyer may start another top-up.
    func refused(_ id: UUID, code: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE top_ups SET status = 'failed', failure_reason = \(code), updated_at = now() WHERE id = \(id) AND intent_id IS NULL",
            logger: logger)
    }

    func setIntent(_ id: UUID, intentId: String, clientSecret: String?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE top_ups SET intent_id = \(intentId), client_secret = \(clientSecret), status = 'processing', updated_at = now()
            WHERE id = \(id) AND intent_id IS NULL
            """, logger: logger)
    }

    /// Stripe's outcome for the top-up's intent; a success is published once.
    func settle(_ topUp: TopUp, succeeded: Bool, chargeId: String?, reason: String?, correlationId: String, causationId: String?,
                on connection: PostgresConnection) async throws {
        guard topUp.status != "succeeded" else { return }
        try await connection.query(
            """
            UPDATE top_ups SET status = \(succeeded ? "succeeded" : "failed"), charge_id = COALESCE(\(chargeId), charge_id),
                failure_reason = \(succeeded ? nil : reason), updated_at = now()
            WHERE id = \(topUp.id)
            """, logger: logger)
        guard succeeded else { return }
        let envelope = try EventEnvelope(
            payload: WalletToppedUp(topUpId: topUp.id, buyerId: topUp.buyerId, amount: topUp.amount, currency: topUp.currency, chargeId: chargeId),
            aggregateId: topUp.id.uuidString.lowercased(), correlationId: correlationId, causationId: causationId, producer: PaymentStore.producer)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
        logger.info("wallet top-up succeeded", metadata: ["top_up_id": "\(topUp.id)", "amount": "\(topUp.amount)"])
    }
}
