import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct DatabaseConfigurationTests {
    @Test func aURLNamesAHostAndPortOrASocketDirectory() throws {
        let tcp = try DatabaseConfiguration(url: "postgres://orders:secret@db.internal:6543/escrowmarket", schema: "orders")
        #expect(tcp.host == "db.internal" && tcp.port == 6543 && tcp.unixSocketPath == nil)
        #expect(tcp.clientConfiguration.unixSocketPath == nil)
        #expect(tcp.clientConfiguration.host == "db.internal")

        // libpq's form: the socket is <directory>/.s.PGSQL.<port>.
        let local = try DatabaseConfiguration(url: "postgres://orders:secret@localhost:6543/escrowmarket?host=/run/pg/", schema: "orders")
        #expect(local.unixSocketPath == "/run/pg/.s.PGSQL.6543")
        #expect(local.clientConfiguration.unixSocketPath == "/run/pg/.s.PGSQL.6543")
        #expect(local.username == "orders" && local.password == "secret" && local.database == "escrowmarket")
        let defaultPort = try DatabaseConfiguration(url: "postgres://orders@localhost/escrowmarket?host=/run/pg", schema: "orders")
        #expect(defaultPort.unixSocketPath == "/run/pg/.s.PGSQL.5432")
    }

    @Test(arguments: ["postgres://orders@localhost/db?host=relative/dir", "postgres://orders@localhost/db?host=/" + String(repeating: "d", count: 100)])
    func aSocketThatCannotBeUsedIsAConfigurationError(_ url: String) {
        #expect(throws: PersistenceError.self) { try DatabaseConfiguration(url: url, schema: "orders") }
    }

    /// Connects through the test Postgres's socket: the server sees no client address on it.
    @Test func aSocketURLConnectsThroughTheSocket() async throws {
        let tcpURL = TestEnvironment.databaseURL
        let socketURL = tcpURL + (tcpURL.contains("?") ? "&" : "?") + "host=" + TestEnvironment.databaseSocketDirectory
        for (url, overSocket) in [(socketURL, true), (tcpURL, false)] {
            let configuration = try DatabaseConfiguration(url: url, schema: "public", maximumConnections: 1)
            let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let noAddress = try await client.query("SELECT inet_client_addr() IS NULL", logger: TestEnvironment.logger)
                    .decode(Bool.self).all()
                #expect(noAddress == [overSocket], "\(url)")
            }
        }
    }
}
