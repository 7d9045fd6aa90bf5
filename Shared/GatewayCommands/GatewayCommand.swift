import Foundation
import Persistence
import PostgresNIO
import StripeClient

/// One money movement at the payment gateway (a transfer, a reversal, a payout, a refund, …),
/// committed as a row with the state change that decided it and executed afterwards, outside
/// any transaction, by `GatewayCommandWorker`.
public struct GatewayCommand: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Encodable {
        case pending, succeeded, refused
    }

    public var id: UUID
    /// What to do; picks the handler (e.g. `release_transfer`, `payout`).
    public var kind: String
    /// The record it acts for: an escrow, a payout, a refund.
    public var subject: String
    public var amount: Int64
    public var currency: String
    /// Derived from the record and the amount: every retry sends the same key.
    public var idempotencyKey: String
    /// What the handler needs beyond the amount (destination account, transfer id, …).
    public var parameters: [String: String]
    public var correlationId: String
    public var causationId: String?
    public var status: Status
    public var attempts: Int
    public var firstAttemptAt: Date?
    public var lastError: String?
    /// The gateway object it created (succeeded), or the refusal's code.
    public var resultId: String?
    public var createdAt: Date
    public var completedAt: Date?

    public init(
        id: UUID = UUID(), kind: String, subject: String, amount: Int64, currency: String, idempotencyKey: String,
        parameters: [String: String] = [:], correlationId: String, causationId: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.subject = subject
        self.amount = amount
        self.currency = currency
        self.idempotencyKey = idempotencyKey
        self.parameters = parameters
        self.correlationId = correlationId
        self.causationId = causationId
        status = .pending
        attempts = 0
        createdAt = Date()
    }

    /// A parameter the command was created with; its absence is a defect in the code that wrote it.
    public func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else {
            throw PersistenceError(code: "command_parameter", message: "gateway command \(id) (\(kind)) has no \(name)")
        }
        return value
    }

    /// Whether the key may have expired at the gateway (Stripe keeps them 24 hours), so a retry
    /// must look for the object before creating it again.
    public func keyMayHaveExpired(now: Date = Date(), keyLifetime: TimeInterval = 20 * 3600) -> Bool {
        guard let firstAttemptAt else { return false }
        return now.timeIntervalSince(firstAttemptAt) > keyLifetime
    }

    static let columns = """
        id, kind, subject, amount, currency, idempotency_key, parameters::text, correlation_id, causation_id, status, attempts,
        first_attempt_at, last_error, result_id, created_at, completed_at
        """

    init(row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        id = try cells["id"].decode(UUID.self)
        kind = try cells["kind"].decode(String.self)
        subject = try cells["subject"].decode(String.self)
        amount = try cells["amount"].decode(Int64.self)
        currency = try cells["currency"].decode(String.self)
        idempotencyKey = try cells["idempotency_key"].decode(String.self)
        parameters = try JSONDecoder().decode([String: String].self, from: Data(try cells["parameters"].decode(String.self).utf8))
        correlationId = try cells["correlation_id"].decode(String.self)
        causationId = try cells["causation_id"].decode(String?.self)
        guard let status = Status(rawValue: try cells["status"].decode(String.self)) else {
            throw PersistenceError(code: "command_status", message: "unknown gateway command status")
        }
        self.status = status
        attempts = Int(try cells["attempts"].decode(Int32.self))
        firstAttemptAt = try cells["first_attempt_at"].decode(Date?.self)
        lastError = try cells["last_error"].decode(String?.self)
        resultId = try cells["result_id"].decode(String?.self)
        createdAt = try cells["created_at"].decode(Date.self)
        completedAt = try cells["completed_at"].decode(Date?.self)
    }
}

/// What became of one attempt. Never two outcomes: an answer that is neither a clear success nor
/// a clear refusal is unknown, and unknown never returns money to a balance.
public enum GatewayOutcome: Sendable, Equatable {
    /// The gateway created (or already had) the object; `attributes` keeps what the caller needs
    /// of it beyond its id (e.g. a PaymentIntent's client secret).
    case succeeded(objectId: String, attributes: [String: String] = [:])
    /// The gateway said no and created nothing (declined, restricted account, insufficient balance).
    case refused(code: String, reason: String)
    /// No usable answer (timeout, 5xx, unreadable 2xx, key in use): retried with the same key.
    case unknown(String)

    /// Sorts a failed gateway call into refused or unknown.
    public static func of(_ error: StripeError) -> GatewayOutcome {
        switch error.kind {
        case .cardDeclined, .invalidRequest:
            return .refused(code: error.declineCode ?? error.code ?? error.kind.rawValue, reason: error.message)
        // A bad key is a configuration fault to fix, not a refusal: nothing may be given back.
        case .authentication, .rateLimit, .api, .connection, .idempotency:
            return .unknown(error.description)
        }
    }

    /// Runs one gateway call and sorts its result; any other error (e.g. a timeout of our own) is unknown.
    public static func attempt(_ call: () async throws -> String) async -> GatewayOutcome {
        await attempt { () async throws -> (String, [String: String]) in (try await call(), [:]) }
    }

    public static func attempt(_ call: () async throws -> (id: String, attributes: [String: String])) async -> GatewayOutcome {
        do {
            let (id, attributes) = try await call()
            return .succeeded(objectId: id, attributes: attributes)
        } catch let error as StripeError {
            return of(error)
        } catch {
            return .unknown("\(error)")
        }
    }
}
