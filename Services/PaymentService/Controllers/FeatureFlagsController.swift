import EventContracts
import Foundation
import HTTPSupport
import Hummingbird

/// `GET /api/v1/flags` (any signed-in user: what the screens may offer), and
/// `GET/PUT /api/v1/admin/flags` (admin, with a reason; audited).
struct FeatureFlagsController: Sendable {
    let flags: FeatureFlagStore

    struct Update: Decodable {
        var flags: [String: Bool]
        var reason: String
    }

    struct Settings: Encodable, ResponseEncodable {
        var flags: [FeatureFlagStore.Setting]
    }

    struct Positions: Encodable, ResponseEncodable {
        var flags: [String: Bool]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("flags") { _, context in
            _ = try context.requireUser()
            return Positions(flags: Dictionary(uniqueKeysWithValues: try await flags.all().map { ($0.name, $0.enabled) }))
        }
        group.get("admin/flags") { _, context in
            _ = try context.requireRole(.admin)
            return Settings(flags: try await flags.all())
        }
        group.put("admin/flags") { request, context in
            let admin = try context.requireRole(.admin)
            let body = try await request.decode(as: Update.self, context: context)
            let reason = body.reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...500).contains(reason.count), !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw Problem.validation("reason must be 1 to 500 characters without control characters.")
            }
            var changes: [FeatureFlag: Bool] = [:]
            for (name, enabled) in body.flags {
                guard let flag = FeatureFlag(rawValue: name) else {
                    throw Problem.validation("Unknown flag \(name.prefix(100)); known: \(FeatureFlag.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                changes[flag] = enabled
            }
            guard !changes.isEmpty else { throw Problem.validation("flags names at least one flag.") }
            try await flags.set(changes, reason: reason, by: admin.id)
            return Settings(flags: try await flags.all())
        }
    }
}
