import Foundation
import GatewayCommands
import PostgresNIO

extension GatewayCommandRunner {
    /// Executes a command now and waits up to 3 s for its outcome (another request or the worker
    /// may be executing it); a command still pending after that is left to the worker.
    func runAndWait(_ id: UUID, postgres: PostgresClient) async throws -> GatewayCommand? {
        try await wait(for: id, from: try await runNow(id), postgres: postgres)
    }

    /// The same for a command this request recorded already claimed.
    func runAndWait(_ claim: Claim, postgres: PostgresClient) async throws -> GatewayCommand? {
        try await wait(for: claim.command.id, from: try await run(claim), postgres: postgres)
    }

    private func wait(for id: UUID, from command: GatewayCommand?, postgres: PostgresClient) async throws -> GatewayCommand? {
        var command = command
        for _ in 0..<30 where command?.status == .pending {
            try await Task.sleep(for: .milliseconds(100))
            command = try await postgres.withConnection { try await store.find(id, on: $0) }
        }
        return command
    }
}
