import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// What makes one service different from the others: its identity, migrations, the events it
/// consumes and its HTTP routes. `buildApplication` turns it into a running service.
public struct ServiceDefinition: Sendable {
    public var identity: ServiceIdentity
    /// The service's own migrations (the outbox/inbox tables come first, from Messaging).
    public var migrations: @Sendable () throws -> [Migration]
    /// Topic base names this service consumes (the deployment's prefix is added).
    public var consumedTopics: [String]
    public var handlers: @Sendable (ServiceDependencies) -> [EventHandler]
    /// Adds the business routes; the group already requires authentication.
    public var routes: @Sendable (RouterGroup<AppRequestContext>, ServiceDependencies) throws -> Void
    /// Background work (timers) started after migrations, stopped before the relay.
    public var services: @Sendable (ServiceDependencies) throws -> [any Service]

    public init(
        identity: ServiceIdentity,
        migrations: @escaping @Sendable () throws -> [Migration],
        consumedTopics: [String] = [],
        handlers: @escaping @Sendable (ServiceDependencies) -> [EventHandler] = { _ in [] },
        routes: @escaping @Sendable (RouterGroup<AppRequestContext>, ServiceDependencies) throws -> Void = { _, _ in },
        services: @escaping @Sendable (ServiceDependencies) throws -> [any Service] = { _ in [] }
    ) {
        self.identity = identity
        self.migrations = migrations
        self.consumedTopics = consumedTopics
        self.handlers = handlers
        self.routes = routes
        self.services = services
    }
}

/// The shared pieces a service's controllers and handlers are built from.
public struct ServiceDependencies: Sendable {
    public let configuration: ServiceConfiguration
    public let postgres: PostgresClient
    public let logger: Logger

    /// A topic's name in this deployment.
    public func topic(_ base: String) -> String {
        configuration.topic(base)
    }

    /// Idempotency-Key records in this service's schema.
    public var idempotency: IdempotencyStore {
        IdempotencyStore(client: postgres, logger: logger)
    }
}
