import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Lets a request wait, briefly, for a row that another part of the service is about to commit
/// (say the payment a consumer creates from `checkout.created`) instead of answering 404.
/// Writers `NOTIFY <channel>, '<key>[,<key>...]'` in the transaction that commits the row (use
/// `notify(keys:on:)`); this service LISTENs on one pooled connection and wakes the requests
/// waiting for those keys. A waiter also re-checks every `fallbackPoll`, so it is answered
/// (later) while the listening connection is down, and is never woken too early: the check
/// decides, the notification only says when to look.
public final class ArrivalListener: Service, Sendable {
    public let channel: String
    private let client: PostgresClient
    private let logger: Logger
    private let fallbackPoll: Duration
    private let waiters = Mutex<[String: [Int: WakeSignal]]>([:])
    private let nextWaiter = Atomic<Int>(0)

    public init(client: PostgresClient, channel: String, logger: Logger, fallbackPoll: Duration = .milliseconds(500)) {
        self.client = client
        self.channel = channel
        self.logger = logger
        self.fallbackPoll = fallbackPoll
    }

    /// Sends the keys (joined by commas; none may contain one) to the listeners when `connection`'s
    /// transaction commits.
    public static func notify(channel: String, keys: [String], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(prepared: "SELECT pg_notify(\(channel), \(payload(keys)))", logger: logger)
    }

    /// The notification's payload for `keys`, for a statement that notifies itself.
    public static func payload(_ keys: [String]) -> String { keys.joined(separator: ",") }

    /// Runs `check` until it returns a value or `timeout` passes (then nil), checking again when a
    /// notification names one of `keys`. Registers before the first check, so a row committed
    /// between the check and the wait is not missed.
    public func wait<Value: Sendable>(
        for keys: [String], timeout: Duration, _ check: () async throws -> Value?
    ) async throws -> Value? {
        let signal = WakeSignal()
        let id = nextWaiter.wrappingAdd(1, ordering: .relaxed).oldValue
        waiters.withLock { waiters in
            for key in keys { waiters[key, default: [:]][id] = signal }
        }
        defer {
            waiters.withLock { waiters in
                for key in keys {
                    waiters[key]?[id] = nil
                    if waiters[key]?.isEmpty == true { waiters[key] = nil }
                }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try await check() { return value }
            let left = deadline - .now
            guard left > .zero else { return nil }
            try await signal.wait(upTo: min(left, fallbackPoll))
        }
    }

    /// How many requests wait now (for tests and gauges).
    public var waiting: Int { waiters.withLock { Set($0.values.flatMap(\.keys)).count } }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var backoff = Backoff(maximum: .seconds(5))
                while !Task.isCancelled {
                    do {
                        try await self.listen()
                    } catch {
                        if Task.isCancelled { return }
                        let delay = backoff.next()
                        self.logger.warning(
                            "listening for \(self.channel) failed; retrying",
                            metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                        try await Task.sleep(for: delay)
                    }
                }
            }
        } catch is CancellationError {}
    }

    /// One LISTEN session. The notification loop runs detached: on a connection whose server
    /// went away it may never end, nor honour cancellation.
    private func listen() async throws {
        try await client.withConnection { connection in
            do {
                try await connection.listen(on: self.channel) { notifications in
                    // Whatever was committed while nobody listened: every waiter looks again.
                    self.wakeAll()
                    try await Detached.run {
                        for try await notification in notifications { self.wake(keys: notification.payload) }
                        throw PersistenceListenEnded()
                    }
                }
            } catch {
                await connection.closeBeforeLeaseEnds()
                throw error
            }
        }
    }

    private func wake(keys payload: String) {
        let signals = waiters.withLock { waiters in
            payload.split(separator: ",").flatMap { waiters[String($0)].map { Array($0.values) } ?? [] }
        }
        for signal in signals { signal.signal() }
    }

    private func wakeAll() {
        for signal in waiters.withLock({ $0.values.flatMap(\.values) }) { signal.signal() }
    }
}

struct PersistenceListenEnded: Error, CustomStringConvertible {
    var description: String { "the notification stream ended" }
}
