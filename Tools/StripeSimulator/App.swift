import Foundation
import Hummingbird
import Logging

/// A Stripe simulator for development and tests: Stripe's REST API in memory, signed webhooks,
/// Connect onboarding, and injected faults (see README.md).
@main
struct App {
    static func main() async throws {
        let configuration: SimulatorConfiguration
        do {
            configuration = try SimulatorConfiguration(environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        let app = buildApplication(configuration)
        try await app.runService()
    }
}
