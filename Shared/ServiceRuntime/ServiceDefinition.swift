import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Metrics
import Persistence
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// What makes one service different from the others: its identity, migrations, the topics it
/// consumes, and how it assembles its parts. `buildApplication` turns it into a running service.
public struct ServiceDefinition: Sendable {
    public var identity: ServiceIdentity
    /// The service's own migrations (the outbox/inbox tables come first, from Messaging).
    public var migrations: @Sendable () throws -> [Migration]
    /// Topic base names this service consumes (the deployment's prefix is added).
    public var consumedTopics: [String]
    /// Builds the service's handlers, routes and background work from the shared dependencies.
    public var assemble: @Sendable (ServiceDependencies) throws -> ServiceParts
    /// The service's OpenAPI document (see `OpenAPIDocument.load`), served at `/openapi.json`.
    public var openAPIDocument: @Sendable () throws -> Data
    /// Routes limited per user (`RATE_LIMIT_PER_MINUTE`, `RATE_LIMIT_BURST`), as
    /// `"<METHOD> <route pattern>"`, e.g. `"POST /api/v1/payouts"`.
    public var rateLimitedRoutes: Set<String>

    public init(
        identity: ServiceIdentity,
        migrations: @escaping @Sendable () throws -> [Migration],
        consumedTopics: [String] = [],
        openAPIDocument: @escaping @Sendable () throws -> Data,
        rateLimitedRoutes: Set<String> = [],
        assemble: @escaping @Sendable (ServiceDependencies) throws -> ServiceParts = { _ in ServiceParts() }
    ) {
        self.identity = identity
        self.migrations = migrations
        self.consumedTopics = consumedTopics
        self.openAPIDocument = openAPIDocument
        self.rateLimitedRoutes = rateLimitedRoutes
        self.assemble = assemble
    }
}

/// A service's own pieces, built once per application.
public struct ServiceParts {
    /// Handlers for the consumed topics' event types.
    public var handlers: [EventHandler] = []
    /// Business routes; the group already requires authentication.
    public var routes: (RouterGroup<AppRequestContext>) -> Void = { _ in }
    /// Routes without bearer authentication (e.g. a webhook that verifies its own signature).
    public var publicRoutes: (Router<AppRequestContext>) -> Void = { _ in }
    /// Background work (timers, processors) started after migrations, stopped before the relay.
    public var services: [any Service] = []
    /// Domain gauges read at each `/metrics` scrape (e.g. money held per currency).
    public var gauges: [GaugeCollector] = []

    public init() {}
}

/// The shared pieces a service's controllers and handlers are built from.
public struct ServiceDependencies: Sendable {
    public let configuration: ServiceConfiguration
    public let postgres: PostgresClient
    public let logger: Logger
    /// The HTTP port actually bound (known once the server runs; differs when configured as 0).
    public let boundPort: BoundPort
    /// Where the service's counters go: the registry `/metrics` serves (one per application in tests).
    public let metrics: any MetricsFactory

    /// A topic's name in this deployment.
    public func topic(_ base: String) -> String {
        configuration.topic(base)
    }

    /// Idempotency-Key records in this service's schema.
    public var idempotency: IdempotencyStore {
        IdempotencyStore(client: postgres, logger: logger)
    }
}

/// The port the HTTP server bound, set once it is running.
public final class BoundPort: Sendable {
    private let port = Mutex<Int?>(nil)

    public init() {}

    public var value: Int? { port.withLock { $0 } }

    func set(_ value: Int?) {
        port.withLock { $0 = value }
    }
}

/// The routes a built application registered, as `"<METHOD> <route pattern>"` (for tests that
/// hold the router to the OpenAPI document).
public final class RouteList: Sendable {
    private let routes = Mutex<[String]>([])

    public init() {}

    public var all: [String] { routes.withLock { $0 } }

    func set(_ value: [String]) {
        routes.withLock { $0 = value }
    }
}
