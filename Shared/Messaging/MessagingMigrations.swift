import Foundation
import Persistence

/// The outbox and inbox tables every service schema gets before its own migrations.
public enum MessagingMigrations {
    public static func all() throws -> [Migration] {
        try Migration.load(source: "messaging", bundle: .module)
    }
}
