/// The fault plan, as `PUT /_sim/faults` takes it and `GET /_sim/faults` shows it (with the
/// counts that are left).
struct FaultDocument: Codable, Sendable, Equatable {
    struct Rule: Codable, Sendable, Equatable {
        enum Kind: String, Codable, Sendable {
            /// Wait `latencyMs`, then answer normally.
            case latency
            /// 500 with Stripe's `api_error`; nothing is done.
            case serverError = "server_error"
            /// Hang `hangMs`, then 504; nothing is done.
            case timeout
            /// Do the request (and store its idempotent answer), then hang `hangMs` before answering.
            case lostAnswer = "lost_answer"
        }

        var kind: Kind
        /// Only this HTTP method (any when absent).
        var method: String?
        /// Requests whose path starts with this (every `/v1` request when absent).
        var path: String?
        /// Probability per matching request (1 when absent).
        var rate: Double?
        /// Apply to the next N matching requests, then stop (no limit when absent).
        var count: Int?
        var latencyMs: Int?
        var hangMs: Int?

        func matches(method: String, path: String) -> Bool {
            (self.method.map { $0.uppercased() == method } ?? true) && path.hasPrefix(self.path ?? "/v1/")
        }
    }

    struct Webhooks: Codable, Sendable, Equatable {
        /// Probability that an event is delivered twice (same event id).
        var duplicateRate: Double?
        /// Shuffle events that are due at the same time.
        var reorder: Bool?
        /// Wait before the first delivery attempt of each event.
        var delayMs: Int?
    }

    struct LateFailures: Codable, Sendable, Equatable {
        /// Probability that a succeeded refund fails later (`refund.updated`, status `failed`).
        var refundRate: Double?
        /// Probability that a paid payout is returned later (`payout.failed` after `payout.paid`).
        var payoutRate: Double?
        /// How long after success the failure comes (default 1000 ms).
        var delayMs: Int?
    }

    var rules: [Rule] = []
    var webhooks: Webhooks?
    var lateFailures: LateFailures?
    var seed: UInt64?

    static let defaultHang: Duration = .milliseconds(35_000)
    static let defaultLateFailureDelay: Duration = .milliseconds(1000)

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rules = try container.decodeIfPresent([Rule].self, forKey: .rules) ?? []
        webhooks = try container.decodeIfPresent(Webhooks.self, forKey: .webhooks)
        lateFailures = try container.decodeIfPresent(LateFailures.self, forKey: .lateFailures)
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed)
    }

    /// What is wrong with the document, if anything (rates outside 0...1, negative counts).
    var problems: [String] {
        var found: [String] = []
        func rate(_ value: Double?, _ name: String) {
            if let value, !(0...1).contains(value) { found.append("\(name) must be between 0 and 1") }
        }
        func nonNegative(_ value: Int?, _ name: String) {
            if let value, value < 0 { found.append("\(name) must not be negative") }
        }
        for (index, rule) in rules.enumerated() {
            rate(rule.rate, "rules[\(index)].rate")
            nonNegative(rule.count, "rules[\(index)].count")
            nonNegative(rule.latencyMs, "rules[\(index)].latencyMs")
            nonNegative(rule.hangMs, "rules[\(index)].hangMs")
            if rule.kind == .latency && rule.latencyMs == nil { found.append("rules[\(index)]: latency needs latencyMs") }
        }
        rate(webhooks?.duplicateRate, "webhooks.duplicateRate")
        nonNegative(webhooks?.delayMs, "webhooks.delayMs")
        rate(lateFailures?.refundRate, "lateFailures.refundRate")
        rate(lateFailures?.payoutRate, "lateFailures.payoutRate")
        nonNegative(lateFailures?.delayMs, "lateFailures.delayMs")
        return found
    }
}
