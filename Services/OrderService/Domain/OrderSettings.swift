import Foundation
import ServiceRuntime

/// OrderService's own timings, from the environment.
struct OrderSettings: Sendable {
    /// How long a new order waits for payment before it expires (default 30 min).
    var paymentTimeout: TimeInterval
    /// How long after shipment delivery is confirmed automatically (default 14 days).
    var inspectionWindow: TimeInterval
    /// How often the durable timers look for due orders.
    var timerInterval: Duration

    init(_ configuration: ServiceConfiguration) throws {
        paymentTimeout = TimeInterval(try configuration.setting("ORDER_PAYMENT_TIMEOUT_SECONDS", default: 1800))
        inspectionWindow = TimeInterval(try configuration.setting("ORDER_INSPECTION_WINDOW_SECONDS", default: 14 * 86_400))
        timerInterval = .seconds(try configuration.setting("ORDER_TIMER_INTERVAL_SECONDS", default: 5))
    }
}
