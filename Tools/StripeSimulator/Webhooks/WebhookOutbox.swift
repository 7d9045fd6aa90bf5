import Synchronization

/// Where webhooks go, changeable at run time (`PUT /_sim/config`).
struct WebhookEndpoint: Sendable, Equatable {
    var url: String?
    var secret: String
}

/// When a refused webhook is tried again: Stripe's exponential schedule, compressed.
struct WebhookRetryPolicy: Sendable {
    var base: Duration
    var cap: Duration
    var maximumAttempts: Int

    /// The wait after `attempts` failed attempts, or nil to give up.
    func delay(afterAttempts attempts: Int) -> Duration? {
        guard attempts < maximumAttempts else { return nil }
        return min(base * (1 << min(attempts - 1, 30)), cap)
    }
}

/// Events waiting to be delivered. Each is tried in event order; one that is refused goes back
/// in line after its backoff, so it never holds up the events behind it.
final class WebhookOutbox: Sendable {
    struct Delivery: Sendable {
        var eventId: String
        var eventType: String
        var payload: [UInt8]
        var attempts = 0
    }

    struct Statistics: Sendable {
        var delivered = 0
        var failedAttempts = 0
        var abandoned = 0
        var inFlight = 0
    }

    let queue = DueQueue<Delivery>()
    let faults: FaultInjector
    private let endpointState: Mutex<WebhookEndpoint>
    private let statistics = Mutex(Statistics())

    init(endpoint: WebhookEndpoint, faults: FaultInjector) {
        endpointState = Mutex(endpoint)
        self.faults = faults
    }

    var endpoint: WebhookEndpoint {
        get { endpointState.withLock { $0 } }
        set { endpointState.withLock { $0 = newValue } }
    }

    /// Queues an event for delivery (twice when the duplicate fault fires); without an endpoint
    /// there is nowhere to send it, as with Stripe, and it is only listed in `/v1/events`.
    func enqueue(_ event: EventRecord) {
        guard endpoint.url != nil else { return }
        let (copies, delay) = faults.webhookCopies()
        let delivery = Delivery(eventId: event.id, eventType: event.type, payload: JSON.bytes(event.json))
        for _ in 0..<copies { queue.add(delivery, after: delay) }
    }

    /// The next due deliveries, shuffled when the reorder fault is on.
    func nextBatch() async throws -> [DueQueue<Delivery>.Entry] {
        let due = faults.reorder(try await queue.nextDue())
        statistics.withLock { $0.inFlight += due.count }
        return due
    }

    /// Records an attempt; a refused delivery goes back in line after its backoff, or is given up.
    func settle(_ entry: DueQueue<Delivery>.Entry, accepted: Bool, policy: WebhookRetryPolicy) -> Duration? {
        statistics.withLock { $0.inFlight -= 1 }
        if accepted {
            statistics.withLock { $0.delivered += 1 }
            return nil
        }
        var retry = entry
        retry.item.attempts += 1
        statistics.withLock { $0.failedAttempts += 1 }
        guard let delay = policy.delay(afterAttempts: retry.item.attempts) else {
            statistics.withLock { $0.abandoned += 1 }
            return nil
        }
        queue.readd(retry, due: .now + delay)
        return delay
    }

    var stats: Statistics { statistics.withLock { $0 } }
    var pending: Int { queue.count + stats.inFlight }

    func reset() {
        queue.removeAll()
        statistics.withLock { $0 = Statistics(inFlight: $0.inFlight) }
    }
}
