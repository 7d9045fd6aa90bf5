import Crypto
import EventContracts
import Foundation

/// One numbered SQL file, identified by its source (a library or the service) and file name.
public struct Migration: Sendable, Equatable {
    /// `source/NNNN_name`, e.g. `messaging/0001_outbox_inbox`.
    public var id: String
    public var sql: String

    public init(id: String, sql: String) {
        self.id = id
        self.sql = sql
    }

    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).hexEncoded
    }

    /// Reads `NNNN_*.sql` files from a bundle folder, in numeric order.
    public static func load(source: String, bundle: Bundle, folder: String = "Migrations") throws -> [Migration] {
        guard let directory = bundle.url(forResource: folder, withExtension: nil) else {
            throw PersistenceError(code: "migrations_missing", message: "no \(folder) folder in the \(source) bundle")
        }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { url in
            let name = url.deletingPathExtension().lastPathComponent
            guard name.prefix(4).allSatisfy(\.isNumber), name.dropFirst(4).first == "_" else {
                throw PersistenceError(code: "migration_name", message: "\(url.lastPathComponent) must be named NNNN_description.sql")
            }
            return Migration(id: "\(source)/\(name)", sql: try String(contentsOf: url, encoding: .utf8))
        }
    }
}
