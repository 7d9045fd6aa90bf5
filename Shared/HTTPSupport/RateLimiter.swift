import EventContracts
import Foundation
import Synchronization

/// A token bucket per key (the caller's user id): `burst` requests at once, refilled at
/// `perMinute`. The buckets live in this process, so the limit holds per instance: with N
/// instances behind a load balancer a user gets up to N times the rate.
public final class RateLimiter: Sendable {
    public struct Limit: Sendable, Equatable {
        public var perMinute: Int
        public var burst: Int

        public init(perMinute: Int, burst: Int) {
            self.perMinute = perMinute
            self.burst = burst
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        /// The next pass that forgets idle buckets runs above this many.
        var pruneAbove: Int
        var prunes = 0
    }

    public let limit: Limit
    private let state: Mutex<State>
    /// Above this many tracked keys, full (idle) buckets are forgotten: they equal a new one.
    /// After a pass the next waits until the buckets left have doubled, so that many users active
    /// at once (none of whose buckets can go) do not make every request scan them all.
    private let pruneThreshold: Int

    public convenience init(limit: Limit) {
        self.init(limit: limit, pruneThreshold: 10_000)
    }

    init(limit: Limit, pruneThreshold: Int) {
        self.limit = limit
        self.pruneThreshold = pruneThreshold
        self.state = Mutex(State(pruneAbove: pruneThreshold))
    }

    /// How many keys have a bucket, and how many passes have forgotten idle ones (for tests).
    var tracked: (keys: Int, prunes: Int) { state.withLock { ($0.buckets.count, $0.prunes) } }

    /// Takes a token for `key`; returns nil when allowed, or how long to wait when limited.
    public func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        let capacity = Double(max(limit.burst, 1))
        let perSecond = Double(limit.perMinute) / 60
        return state.withLock { state in
            var bucket = state.buckets[key] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, (now - bucket.updated).inSeconds) * perSecond)
            bucket.updated = max(bucket.updated, now)
            defer {
                state.buckets[key] = bucket
                if state.buckets.count > state.pruneAbove {
                    Self.prune(&state.buckets, capacity: capacity, perSecond: perSecond, now: now)
                    state.pruneAbove = max(pruneThreshold, state.buckets.count * 2)
                    state.prunes += 1
                }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            guard perSecond > 0 else { return .seconds(60) }
            return .milliseconds(Int64(((1 - bucket.tokens) / perSecond * 1000).rounded(.up)))
        }
    }

    private static func prune(_ buckets: inout [String: Bucket], capacity: Double, perSecond: Double, now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + (now - bucket.updated).inSeconds * perSecond < capacity
        }
    }
}
