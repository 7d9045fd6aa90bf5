/// Kafka topic names: one per producing service's aggregates, each with a dead-letter sibling.
public enum Topic {
    public static let orders = "orders.events"
    public static let payments = "payments.events"
    public static let escrow = "escrow.events"
    public static let notifications = "notifications.events"

    public static let all = [orders, payments, escrow, notifications]

    /// Where a consumer parks a message it could not handle: `<topic>.dlq`.
    public static func deadLetter(of topic: String) -> String {
        "\(topic).dlq"
    }
}

/// Kafka header names set on every published event.
public enum EventHeader {
    public static let eventId = "event-id"
    public static let eventType = "event-type"
    public static let correlationId = "correlation-id"
    public static let dlqError = "dlq-error"
    public static let dlqConsumer = "dlq-consumer"
    public static let dlqSource = "dlq-source"
}
