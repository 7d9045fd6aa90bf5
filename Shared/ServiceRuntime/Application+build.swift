import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Metrics
import Persistence
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Options that tests change; production uses the defaults.
public struct RuntimeOptions: Sendable {
    public var relay = OutboxRelay.Settings()
    public var consumer = EventConsumer.Settings()
    /// Where the application's metrics go and `/metrics` reads them; `ServiceMain` passes the
    /// registry it bootstrapped swift-metrics with, tests get one per application.
    public var metricsRegistry = PrometheusCollectorRegistry()
    /// Filled with the registered routes when set (tests).
    public var routes: RouteList?

    public init() {}
}

/// Assembles one service: Postgres client, shared producer, migrations (gating everything
/// after them), outbox relay, event consumer, retention, and the HTTP server last, so that on
/// SIGTERM the server stops first and the producer and database last.
public func buildApplication(
    _ definition: ServiceDefinition, configuration: ServiceConfiguration, options: RuntimeOptions = .init(),
    logger: Logger
) async throws -> some ApplicationProtocol {
    let postgres = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
    let producer = try KafkaProducer(configuration: configuration.kafka)
    let gate = StartupGate()
    let boundPort = BoundPort()
    let metrics = PrometheusMetricsFactory(registry: options.metricsRegistry)
    let dependencies = ServiceDependencies(
        configuration: configuration, postgres: postgres, logger: logger, boundPort: boundPort, metrics: metrics)
    let migrations = try MessagingMigrations.all() + IdempotencyStore.migrations() + definition.migrations()
    let openAPIDocument = try definition.openAPIDocument()
    let consumerMonitor = ConsumerMonitor(factory: metrics)
    // At zero from the start: an alert on the first dead letter needs the series before it.
    consumerMonitor.register(topics: definition.consumedTopics.map(configuration.topic))
    let relayStatus = RelayStatus()

    var services: [any Service] = [
        postgres,
        producer,
        MigrationService(
            client: postgres, schema: configuration.database.schema, migrations: migrations, gate: gate, logger: logger),
        GatedService(
            gate: gate,
            service: OutboxRelay(
                client: postgres, schema: configuration.database.schema, producer: producer,
                settings: options.relay, logger: logger, status: relayStatus)),
        GatedService(
            gate: gate,
            service: RetentionService(
                client: postgres, outboxRetention: configuration.outboxRetention, logger: logger,
                additional: [{ try await dependencies.idempotency.prune() }])),
    ]
    let parts = try definition.assemble(dependencies)
    services += parts.services.map { GatedService(gate: gate, service: $0) }
    let handlers = parts.handlers
    if !definition.consumedTopics.isEmpty {
        // The topic prefix isolates deployments sharing a broker (and tests) by group too.
        let group = configuration.topicPrefix + configuration.serviceName
        var kafka = configuration.kafka
        if let instance = configuration.groupInstanceId, kafka.consumerProperties["group.instance.id"] == nil {
            kafka.consumerProperties["group.instance.id"] = "\(group)-\(instance)"
        }
        services.append(
            GatedService(
                gate: gate,
                service: EventConsumer(
                    name: group,
                    topics: definition.consumedTopics.map(configuration.topic),
                    handlers: handlers, client: postgres, kafka: kafka, deadLetters: producer,
                    settings: options.consumer, logger: logger, monitor: consumerMonitor)))
    }

    let router = Router(context: AppRequestContext.self)
    if !configuration.corsAllowedOrigins.isEmpty {
        router.add(middleware: AllowedOriginsCORSMiddleware(origins: configuration.corsAllowedOrigins))
    }
    router.add(middleware: RequestIdMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(factory: metrics))
    router.add(middleware: ProblemMiddleware())
    HealthController(postgres: postgres, producer: producer, gate: gate, relay: relayStatus).addRoutes(to: router)
    MetricsController(
        registry: options.metricsRegistry, postgres: postgres, monitor: consumerMonitor, relay: relayStatus,
        collectors: parts.gauges, logger: logger
    ).addRoutes(to: router)
    OpenAPIDocument.addRoute(openAPIDocument, to: router)
    parts.publicRoutes(router)
    let authenticator = await JWTAuthenticator(secret: configuration.jwtSecret)
    let api = router.group("api/v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    if !definition.rateLimitedRoutes.isEmpty {
        api.add(
            middleware: RateLimitMiddleware(
                limiter: RateLimiter(limit: configuration.rateLimit), routes: definition.rateLimitedRoutes))
    }
    api.get("whoami") { _, context in
        let user = try context.requireUser()
        return WhoAmI(id: user.id, roles: user.roles.map(\.rawValue).sorted(), email: user.email)
    }
    parts.routes(api)
    OperationsController(
        postgres: postgres, producer: producer, kafka: configuration.kafka,
        consumerName: configuration.topicPrefix + configuration.serviceName,
        consumedTopics: definition.consumedTopics.map(configuration.topic), logger: logger
    ).addRoutes(to: api)
    options.routes?.set(router.routes.map { "\($0.method.rawValue) \($0.path)" })

    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.httpHost, port: configuration.httpPort),
            serverName: configuration.serviceName),
        services: services,
        onServerRunning: { channel in boundPort.set(channel.localAddress?.port) },
        logger: logger
    )
}

/// The caller's identity as the service sees it (handy to check a token).
struct WhoAmI: ResponseEncodable {
    var id: String
    var roles: [String]
    var email: String?
}
