import Foundation
import Logging
import Persistence
import PostgresNIO

/// Turns due reminders into emails, in one transaction per batch, if the order still needs them.
struct ReminderFiring: Sendable {
    let reminders: ReminderStore
    let projection: ProjectionStore
    let notifier: Notifier
    let postgres: PostgresClient
    let logger: Logger

    func fireDue(batch: Int = 50) async throws {
        while true {
            let count = try await postgres.inTransaction(logger: logger) { connection in
                let due = try await reminders.takeDue(limit: batch, on: connection)
                for reminder in due { try await fire(reminder, on: connection) }
                return due.count
            }
            if count < batch { return }
        }
    }

    private func fire(_ reminder: ReminderStore.Due, on connection: PostgresConnection) async throws {
        guard let order = try await projection.order(reminder.orderId, on: connection) else { return }
        let model: [String: Any] = ["order": notifier.models.order(order)]
        switch reminder.kind {
        case .shipOrder where order.status == "paid":
            try await notifier.queue(.shipReminder, to: .user(order.sellerId), order: order.id, source: reminder.id, model: model, on: connection)
        case .confirmDelivery where order.status == "shipped":
            var buyer = model
            buyer["autoConfirm"] = order.autoConfirmAt.map(EmailModels.date)
            try await notifier.queue(
                .confirmDeliveryReminder, to: .user(order.buyerId), order: order.id, source: reminder.id, model: buyer, on: connection)
        default:
            logger.info("reminder no longer applies", metadata: ["order_id": "\(order.id)", "status": "\(order.status)"])
        }
    }
}
