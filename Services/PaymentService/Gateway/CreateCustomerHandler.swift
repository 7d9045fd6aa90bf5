import GatewayCommands
import Logging
import PostgresNIO

/// Creates a buyer's Stripe Customer (the command's subject is the buyer id) and records it.
struct CreateCustomerHandler: GatewayCommandHandler {
    let gateway: any PaymentGateway
    let customers: CustomerStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await GatewayOutcome.attempt {
            try await gateway.createCustomer(
                buyerId: command.subject, email: command.parameters["email"], idempotencyKey: command.idempotencyKey
            ).id
        }
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        try await customers.record(buyerId: command.subject, customerId: objectId, on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        customers.logger.warning("the gateway refused to create a customer", metadata: ["command_id": "\(command.id)", "code": "\(code)"])
    }
}
