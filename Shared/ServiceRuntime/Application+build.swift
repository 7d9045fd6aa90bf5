import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Options that tests change; production uses the defaults.
public struct RuntimeOptions: Sendable {
    public var relay = OutboxRelay.Settings()
    public var consumer = EventConsumer.Settings()
    /// Extra librdkafka properties for the consumer (e.g. fast group timeouts in tests).
    public var consumerProperties: [String: String] = [:]

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
    let dependencies = ServiceDependencies(configuration: configuration, postgres: postgres, logger: logger, boundPort: boundPort)
    let migrations = try MessagingMigrations.all() + IdempotencyStore.migrations() + definition.migrations()

    var services: [any Service] = [
        postgres,
        producer,
        MigrationService(
            client: postgres, schema: configuration.database.schema, migrations: migrations, gate: gate, logger: logger),
        GatedService(
            gate: gate,
            service: OutboxRelay(
                client: postgres, schema: configuration.database.schema, producer: producer,
                settings: options.relay, logger: logger)),
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
        var kafka = configuration.kafka
        kafka.consumerProperties.merge(options.consumerProperties) { _, new in new }
        services.append(
            GatedService(
                gate: gate,
                service: EventConsumer(
                    // The topic prefix isolates deployments sharing a broker (and tests) by group too.
                    name: configuration.topicPrefix + configuration.serviceName,
                    topics: definition.consumedTopics.map(configuration.topic),
                    handlers: handlers, client: postgres, kafka: kafka, deadLetters: producer,
                    settings: options.consumer, logger: logger)))
    }

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIdMiddleware())
    router.add(middleware: ProblemMiddleware())
    HealthController(postgres: postgres, producer: producer, gate: gate).addRoutes(to: router)
    parts.publicRoutes(router)
    let authenticator = await JWTAuthenticator(secret: configuration.jwtSecret)
    let api = router.group("api/v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    api.get("whoami") { _, context in
        let user = try context.requireUser()
        return WhoAmI(id: user.id, roles: user.roles.map(\.rawValue).sorted(), email: user.email)
    }
    parts.routes(api)

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
