import Foundation
import Hummingbird
import Logging

@main
struct WebConsoleApp {
    static func main() async {
        let settings: ConsoleSettings
        do {
            settings = try ConsoleSettings.fromEnvironment()
        } catch {
            FileHandle.standardError.write(Data("web-console: \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "web-console")
        logger.info("starting", metadata: ["mode": "\(settings.mode.rawValue)", "http_port": "\(settings.httpPort)"])
        do {
            let app = try await buildApplication(settings: settings, logger: logger)
            try await app.runService()
        } catch {
            logger.critical("web console stopped with an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
