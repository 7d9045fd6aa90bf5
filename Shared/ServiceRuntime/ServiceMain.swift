import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// The whole of a service's `main`: read configuration, set up logging once, build, run
/// until SIGTERM/SIGINT.
public enum ServiceMain {
    public static func run(_ definition: ServiceDefinition) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.fromEnvironment(service: definition.identity)
        } catch {
            FileHandle.standardError.write(Data("\(definition.identity.name): \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        // Before anything starts the shared event loop group (the HTTP server, Postgres, SMTP).
        if let threads = configuration.eventLoopThreads {
            NIOSingletons.groupLoopCountSuggestion = threads
        }
        LoggingSystem.bootstrap(
            { label, provider in
                var handler: any LogHandler =
                    configuration.logFormat == .json
                    ? JSONLogHandler(label: label, service: configuration.serviceName)
                    : RedactingLogHandler(wrapped: StreamLogHandler.standardOutput(label: label, metadataProvider: provider))
                handler.metadataProvider = provider
                handler.logLevel = configuration.logLevel
                return handler
            }, metadataProvider: .correlation)
        // One registry for the process: swift-metrics users (libraries) and /metrics share it.
        let options = RuntimeOptions()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: options.metricsRegistry))
        var logger = Logger(label: configuration.serviceName)
        logger.logLevel = configuration.logLevel
        logger.info(
            "starting",
            metadata: [
                "mode": "\(configuration.mode.rawValue)", "http_port": "\(configuration.httpPort)",
                "schema": "\(configuration.database.schema)", "brokers": "\(configuration.kafka.brokers)",
                "event_loop_threads": "\(NIOSingletons.groupLoopCountSuggestion)",
            ])
        let watchdog = ShutdownWatchdog(limit: .seconds(8), logger: logger)
        do {
            let app = try await buildApplication(definition, configuration: configuration, options: options, logger: logger)
            try await app.runService()
            withExtendedLifetime(watchdog) {}
        } catch {
            logger.critical("service stopped with an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}

/// The last resort behind a graceful shutdown: every worker bounds its own work, but an HTTP
/// request waiting on a connection whose server went away can keep the server from draining. If
/// the service has not stopped `limit` after SIGTERM or SIGINT, it says so and exits; nothing is
/// lost (the database rolls back what was not committed, and uncommitted offsets are redelivered).
final class ShutdownWatchdog {
    private let sources: [any DispatchSourceSignal]

    init(limit: Duration, logger: Logger) {
        sources = [SIGTERM, SIGINT].map { signal in
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler {
                DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(limit.components.seconds))) {
                    logger.critical(
                        "graceful shutdown did not finish in time; exiting (work waiting on a dead connection is abandoned)",
                        metadata: ["limit_seconds": "\(limit.components.seconds)"])
                    exit(0)
                }
            }
            source.resume()
            return source
        }
    }
}
