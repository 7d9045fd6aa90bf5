import Foundation
import PostgresNIO

/// Where a service's data lives: a Postgres URL and the one schema the service owns.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Connect through this Unix-domain socket instead of TCP (`?host=/dir` in the URL, as libpq
    /// reads it): a round trip to a Postgres on the same machine costs less CPU on both sides.
    public var unixSocketPath: String?
    public var username: String
    public var password: String?
    public var database: String
    /// The service's own schema; every connection's `search_path` is set to it.
    public var schema: String
    public var maximumConnections: Int

    public init(
        host: String, port: Int = 5432, username: String, password: String?, database: String,
        schema: String, maximumConnections: Int = 10
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.maximumConnections = maximumConnections
    }

    /// Parses `postgres://user:password@host:port/database`, and `?host=/directory` (libpq's
    /// form) for the socket `/directory/.s.PGSQL.<port>` of a Postgres on the same machine.
    public init(url: String, schema: String, maximumConnections: Int = 10) throws {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme),
              let host = components.host, !host.isEmpty,
              let username = components.user, !username.isEmpty
        else {
            throw PersistenceError(code: "invalid_database_url", message: "DATABASE_URL must look like postgres://user:password@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard Self.isValidIdentifier(schema) else {
            throw PersistenceError(code: "invalid_schema", message: "schema name '\(schema)' must be a lowercase SQL identifier")
        }
        self.init(
            host: host, port: components.port ?? 5432, username: username,
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? username : database,
            schema: schema, maximumConnections: maximumConnections
        )
        if let directory = components.queryItems?.last(where: { $0.name == "host" })?.value, !directory.isEmpty {
            guard directory.hasPrefix("/") else {
                throw PersistenceError(
                    code: "invalid_database_url", message: "DATABASE_URL's host parameter must be a socket directory (an absolute path)")
            }
            let path = (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/.s.PGSQL.\(port)"
            // sun_path holds 107 bytes and a NUL.
            guard path.utf8.count <= 107 else {
                throw PersistenceError(code: "invalid_database_url", message: "the socket path \(path) is longer than 107 bytes")
            }
            unixSocketPath = path
        }
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = unixSocketPath.map {
            PostgresClient.Configuration(unixSocketPath: $0, username: username, password: password, database: database)
        } ?? PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        return configuration
    }

    /// Schema names are spliced into DDL (they cannot be bound), so only plain identifiers pass.
    public static func isValidIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 63 else { return false }
        let lower = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz_")
        let rest = lower.union(CharacterSet(charactersIn: "0123456789"))
        return lower.contains(first) && name.unicodeScalars.allSatisfy { rest.contains($0) }
    }
}

/// An error of the persistence library, with a stable code.
public struct PersistenceError: Error, CustomStringConvertible, Sendable {
    public var code: String
    public var message: String
    public var isRetriable: Bool

    public init(code: String, message: String, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    public var description: String { "\(code): \(message)" }
}
