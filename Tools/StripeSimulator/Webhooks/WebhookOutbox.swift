import Foundation
import Synchronization

/// Where webhooks go, changeable at run time (`PUT /_sim/config`).
struct WebhookEndpoint: Sendable, Equatable {
    /// One URL, or several separated by commas: each delivery attempt goes to the next in turn,
    /// as a load balancer in front of several instances of the receiver would send them.
    var url: String?
    var secret: String
    /// The event types sent, as a Stripe endpoint's `enabled_events`; nil is `["*"]`, every type.
    var enabledEvents: Set<String>? = nil

    /// The URLs deliveries go to, in turn.
    var targets: [String] {
        (url ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Whether an event of this type goes to the endpoint.
    func wants(_ type: String) -> Bool {
        !targets.isEmpty && (enabledEvents?.contains(type) ?? true)
    }

    /// Where a delivery's next attempt goes: deliveries take the URLs in turn, and a refused
    /// attempt's retry goes to the next URL, so an instance that is down holds up no event for
    /// longer than one retry delay; nil without a URL.
    func target(of delivery: WebhookOutbox.Delivery) -> String? {
        let targets = targets
        guard !targets.isEmpty else { return nil }
        return targets[(delivery.turn % targets.count + delivery.attempts % targets.count) % targets.count]
    }

    /// Reads an `enabled_events` list: `*` alone for every type (nil), else event type names
    /// such as `payment_intent.succeeded`. Throws a sentence saying what is wrong.
    static func enabledEvents(_ names: [String]) throws(InvalidEnabledEvents) -> Set<String>? {
        let names = names.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw InvalidEnabledEvents("enabled events must name at least one type, or *") }
        if names == ["*"] { return nil }
        for name in names where !isEventType(name) {
            throw InvalidEnabledEvents("'\(name.prefix(100))' is not an event type (such as payment_intent.succeeded), and * stands alone")
        }
        return Set(names)
    }

    /// Lower-case words of letters and underscores joined by dots, at least two.
    private static func isEventType(_ name: String) -> Bool {
        let words = name.split(separator: ".", omittingEmptySubsequences: false)
        return name.utf8.count <= 100 && words.count >= 2
            && words.allSatisfy { word in
                !word.isEmpty && word.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "_") }
            }
    }
}

struct InvalidEnabledEvents: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
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
        /// Which of the endpoint's URLs took the first attempt (taken in turn); each retry goes to
        /// the next one.
        var turn = 0
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
    private let turns = Mutex(0)

    init(endpoint: WebhookEndpoint, faults: FaultInjector) {
        endpointState = Mutex(endpoint)
        self.faults = faults
    }

    var endpoint: WebhookEndpoint {
        get { endpointState.withLock { $0 } }
        set { endpointState.withLock { $0 = newValue } }
    }

    /// Queues an event for delivery (twice when the duplicate fault fires); without an endpoint,
    /// or of a type it is not enabled for, there is nowhere to send it, as with Stripe, and it is
    /// only listed in `/v1/events`.
    func enqueue(_ event: EventRecord) {
        guard endpoint.wants(event.type) else { return }
        let (copies, delay) = faults.webhookCopies()
        let delivery = Delivery(eventId: event.id, eventType: event.type, payload: JSON.bytes(event.json))
        for _ in 0..<copies {
            var copy = delivery
            copy.turn = turns.withLock { turn in
                defer { turn = turn == Int.max ? 0 : turn + 1 }
                return turn
            }
            queue.add(copy, after: delay)
        }
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
