import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import ServiceRuntime

/// Operator view of the gateway commands (admin):
/// - `GET /api/v1/admin/gateway-commands?status=pending|succeeded|refused`: oldest first, with
///   attempts and the last error (a command stuck on unknown outcomes shows here);
/// - `POST /api/v1/admin/gateway-commands/{id}/retry`: runs a pending command now (after fixing
///   what kept it failing), with the same idempotency key.
public struct GatewayCommandsController: Sendable {
    let runner: GatewayCommandRunner
    let postgres: PostgresClient

    public init(runner: GatewayCommandRunner, postgres: PostgresClient) {
        self.runner = runner
        self.postgres = postgres
    }

    struct Commands: ResponseEncodable {
        var items: [GatewayCommand]
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("admin/gateway-commands") { request, context in
            _ = try context.requireRole(.admin)
            let status: GatewayCommand.Status?
            switch request.uri.queryParameters.get("status") {
            case nil: status = nil
            case let text?:
                guard let value = GatewayCommand.Status(rawValue: text) else {
                    throw Problem.badRequest("status must be pending, succeeded or refused.")
                }
                status = value
            }
            let items = try await postgres.withConnection { try await runner.store.list(status: status, limit: 500, on: $0) }
            return Commands(items: items)
        }
        group.post("admin/gateway-commands/{id}/retry") { _, context -> GatewayCommand in
            _ = try context.requireRole(.admin)
            let id = try context.parameters.require("id", as: UUID.self)
            let known = try await postgres.withConnection { connection -> GatewayCommand? in
                guard let command = try await runner.store.find(id, on: connection) else { return nil }
                guard command.status == .pending else { return command }
                _ = try await runner.store.retryNow(id, on: connection)
                return command
            }
            guard let known else { throw Problem.notFound("No gateway command \(id.uuidString.lowercased()).") }
            guard known.status == .pending else {
                throw Problem.conflict(
                    "The command is \(known.status.rawValue); only a pending one can run again.", extensions: ["currentState": known.status.rawValue])
            }
            return try await runner.runNow(id) ?? known
        }
    }
}

extension GatewayCommand: ResponseEncodable {}

extension GatewayCommandRunner {
    /// Pending commands and the age of the oldest, read at each `/metrics` scrape.
    public func gauges() async throws -> [GaugeFamily] {
        let (count, oldest) = try await store.backlog(on: postgres)
        return [
            GaugeFamily(name: "gateway_commands_pending", help: "Gateway commands without a known outcome yet.", samples: [.init(value: Double(count))]),
            GaugeFamily(
                name: "gateway_commands_oldest_pending_seconds", help: "Age of the oldest pending gateway command.",
                samples: [.init(value: oldest)]),
        ]
    }
}
