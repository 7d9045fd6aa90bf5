import Foundation
import GatewayCommands
import HTTPSupport
import Logging
import Persistence
import PostgresNIO

/// A Stripe Customer per buyer, created on first need: the decision is a gateway command whose
/// key is derived from the buyer id, committed before Stripe is called (by this request, or by
/// the command worker if it cannot), so concurrent requests and retries make one customer.
struct BuyerCustomers: Sendable {
    let postgres: PostgresClient
    let customers: CustomerStore
    let commands: GatewayCommandRunner
    let logger: Logger

    /// Stripe keys are at most 255 characters; ids from our own tokens are far shorter.
    static let maximumBuyerIdLength = 200

    func existing(_ buyerId: String) async throws -> String? {
        try await postgres.withConnection { try await customers.customerId(buyerId: buyerId, on: $0) }
    }

    /// The buyer's customer id, creating the customer if the buyer has none yet.
    func ensure(_ buyer: AuthenticatedUser, correlationId: String) async throws -> String {
        if let id = try await existing(buyer.id) { return id }
        guard buyer.id.utf8.count <= Self.maximumBuyerIdLength else { throw SavedCardError.invalid("The buyer id is too long.") }
        let commandId = try await postgres.inTransaction(logger: logger) { connection -> UUID in
            let earlier = try await commands.store.commands(subject: buyer.id, kind: PaymentCommand.createCustomer, on: connection)
            if let open = earlier.first(where: { $0.status != .refused }) { return open.id }
            // Earlier attempts were refused (nothing was created): a new attempt gets a new key.
            return try await commands.store.enqueue(
                GatewayCommand(
                    kind: PaymentCommand.createCustomer, subject: buyer.id, amount: 0, currency: "",
                    idempotencyKey: "buyer-customer-\(buyer.id)" + (earlier.isEmpty ? "" : "-\(earlier.count + 1)"),
                    parameters: buyer.email.map { ["email": $0] } ?? [:], correlationId: correlationId),
                on: connection
            ).id
        }
        switch try await commands.runAndWait(commandId, postgres: postgres)?.status {
        case .succeeded?:
            guard let id = try await existing(buyer.id) else { throw SavedCardError.customerPending }
            return id
        case .refused?: throw SavedCardError.customerRefused
        case .pending?, nil: throw SavedCardError.customerPending
        }
    }
}
