import Foundation
import HTTPSupport
import Logging
import Persistence
import PostgresNIO

/// Feature flags in Postgres, read at each request (one indexed row), so every instance follows
/// a change at once.
struct FeatureFlagStore: Sendable {
    let postgres: PostgresClient
    let logger: Logger

    struct Setting: Sendable, Encodable, Equatable {
        var name: String
        var enabled: Bool
        var defaultValue: Bool
        var reason: String?
        var updatedBy: String?
        var updatedAt: Date?
    }

    func all() async throws -> [Setting] {
        let rows = try await postgres.query(
            "SELECT name, enabled, reason, updated_by, updated_at FROM feature_flags", logger: logger
        ).decode((String, Bool, String, String, Date).self).all()
        let stored = Dictionary(rows.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
        return FeatureFlag.allCases.map { flag in
            let row = stored[flag.rawValue]
            return Setting(
                name: flag.rawValue, enabled: row?.1 ?? flag.defaultValue, defaultValue: flag.defaultValue, reason: row?.2,
                updatedBy: row?.3, updatedAt: row?.4)
        }
    }

    func isEnabled(_ flag: FeatureFlag) async throws -> Bool {
        // Asked by every create-intent: prepared, as the hot statements are.
        try await postgres.withConnection { connection in
            try await connection.query(prepared: "SELECT enabled FROM feature_flags WHERE name = \(flag.rawValue)", logger: logger)
                .decode(Bool.self).all().first ?? flag.defaultValue
        }
    }

    /// 404 with the flag's message when its flow is off (as if the route were not there).
    func require(_ flag: FeatureFlag) async throws {
        guard try await isEnabled(flag) else { throw Problem.notFound(flag.offMessage) }
    }

    func set(_ changes: [FeatureFlag: Bool], reason: String, by admin: String) async throws {
        try await postgres.withTransaction(logger: logger) { connection in
            for (flag, enabled) in changes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                try await connection.query(
                    """
                    INSERT INTO feature_flags (name, enabled, reason, updated_by) VALUES (\(flag.rawValue), \(enabled), \(reason), \(admin))
                    ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled, reason = EXCLUDED.reason,
                        updated_by = EXCLUDED.updated_by, updated_at = now()
                    """, logger: logger)
            }
        }
        logger.warning("feature flags changed", metadata: ["by": "\(admin)", "changes": "\(changes.map { "\($0.key.rawValue)=\($0.value)" }.sorted())"])
    }
}
