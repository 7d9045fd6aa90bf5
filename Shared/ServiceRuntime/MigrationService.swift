import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Migrates the service's schema at start, then opens the gate the relay, consumers and
/// readiness wait on. A failed migration stops the whole service group with the error.
struct MigrationService: Service {
    let client: PostgresClient
    let schema: String
    let migrations: [Migration]
    let gate: StartupGate
    let logger: Logger

    func run() async throws {
        do {
            try await Migrator(client: client, schema: schema, logger: logger).migrate(migrations)
            gate.open()
        } catch {
            logger.critical("migrations failed", metadata: ["schema": "\(schema)", "error": "\(error)"])
            gate.fail(error)
            throw error
        }
        // Stay up: a service that returns ends the group.
        try? await gracefulShutdown()
    }
}

/// Runs a service only after the startup gate opened.
struct GatedService: Service {
    let gate: StartupGate
    let service: any Service

    func run() async throws {
        try await gate.wait()
        try await service.run()
    }
}

extension MigrationService: CustomStringConvertible {
    var description: String { "MigrationService(\(schema))" }
}

extension GatedService: CustomStringConvertible {
    var description: String { "Gated(\(type(of: service)))" }
}
