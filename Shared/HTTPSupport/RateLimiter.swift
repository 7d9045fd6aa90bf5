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

    public let limit: Limit
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Above this many tracked keys, full (idle) buckets are forgotten: they equal a new one.
    private let pruneThreshold = 10_000

    public init(limit: Limit) {
        self.limit = limit
    }

    /// Takes a token for `key`; returns nil when allowed, or how long to wait when limited.
    public func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        let capacity = Double(max(limit.burst, 1))
        let perSecond = Double(limit.perMinute) / 60
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, seconds) * perSecond)
            bucket.updated = max(bucket.updated, now)
            defer {
                buckets[key] = bucket
                if buckets.count > pruneThreshold { Self.prune(&buckets, capacity: capacity, perSecond: perSecond, now: now) }
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
            let idle = Double((now - bucket.updated).components.seconds)
            return bucket.tokens + idle * perSecond < capacity
        }
    }
}
