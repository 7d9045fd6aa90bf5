import Foundation
import GatewayCommands
import PostgresNIO

extension GatewayCommandRunner {
    /// Executes a command now and waits up to 3 s for its outcome (another request or the worker
    /// may be executing it); a command still pending after that is left to the worker.
    func runAndWait(_ id: UUID, postgres: PostgresClient) async throws -> GatewayCommand? {
        var command = try await runNow(id)
        for _ in 0..<30 where command?.status == .pending {
            try await Task.sleep(for: .milliseconds(100))
            command = try await postgres.withConnection { try await store.find(id, on: $0) }
        }
        return command
    }
}
