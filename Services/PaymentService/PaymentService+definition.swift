import AsyncHTTPClient
import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import NIOCore
import Persistence
import PostgresNIO
import ServiceRuntime
import StripeClient

extension ServiceDefinition {
    /// PaymentService owns payments, Stripe webhook events and refunds; it is the only service
    /// that receives Stripe webhooks and the only one that charges and refunds.
    static let paymentService = ServiceDefinition(
        identity: ServiceIdentity(name: "payment-service", schema: "payments", defaultPort: 8082),
        migrations: {
            try GatewayCommandMigrations.all() + Migration.load(source: "payments", bundle: .module)
                + [KeptStatusCounts.migration(source: "payments", table: "payments", countsTable: "payment_status_counts")]
        },
        consumedTopics: [Topic.orders, Topic.escrow],
        openAPIDocument: { try OpenAPIDocument.load(bundle: .module) },
        rateLimitedRoutes: [
            "POST /api/v1/payments/create-intent", "POST /api/v1/payments/checkout-session", "POST /api/v1/payments/confirm",
            "POST /api/v1/payment-methods", "POST /api/v1/wallet/top-ups",
        ],
        assemble: { dependencies in
            let configuration = dependencies.configuration
            let logger = dependencies.logger
            let store = PaymentStore(logger: logger, topic: dependencies.topic(Topic.payments))
            let refunds = RefundStore(logger: logger, topic: dependencies.topic(Topic.payments), commands: GatewayCommandStore(logger: logger))
            let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let (commandWakeups, wakeCommands) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let secrets = try WebhookSecrets.parse(
                configuration.stringSetting("STRIPE_WEBHOOK_SECRET"), production: configuration.mode == .production)

            let gateway: any PaymentGateway = StripeGateway(
                client: StripeClient(configuration: try GatewaySettings.stripe(configuration, logger: logger), logger: logger),
                sendsTransferGroup: try configuration.setting("STRIPE_TRANSFER_GROUP", default: 1) == 1)
            let customers = CustomerStore(logger: logger)
            let topUps = TopUpStore(logger: logger, topic: dependencies.topic(Topic.payments))
            let flags = FeatureFlagStore(postgres: dependencies.postgres, logger: logger)
            let commands = GatewayCommandRunner(
                postgres: dependencies.postgres,
                handlers: PaymentCommand.handlers(gateway: gateway, payments: store, refunds: refunds, customers: customers, topUps: topUps),
                logger: logger, claimer: configuration.groupInstanceId)
            let cards = SavedCards(
                customers: BuyerCustomers(postgres: dependencies.postgres, customers: customers, commands: commands, logger: logger),
                gateway: gateway)

            let arrivals = ArrivalListener(client: dependencies.postgres, channel: PaymentStore.arrivals, logger: logger)
            let arrivalWait = Duration.milliseconds(min(30_000, try configuration.setting("CREATE_INTENT_WAIT_MS", default: 5000)))

            let metrics = PaymentMetrics(factory: dependencies.metrics)
            let processor = WebhookProcessor(
                postgres: dependencies.postgres, store: store, refunds: refunds, topUps: topUps, logger: logger, wakeups: wakeups,
                interval: .seconds(1), metrics: metrics)
            let receiver = WebhookReceiver(postgres: dependencies.postgres, secrets: secrets, processor: processor, logger: logger) {
                wake.yield()
            }

            var parts = ServiceParts()
            parts.handlers = PaymentEventHandlers(
                store: store, refunds: refunds, flags: flags, wakeWebhooks: { wake.yield() }, wakeRefunds: { wakeCommands.yield() }
            ).all
            parts.routes = { api in
                PaymentsController(store: store, postgres: dependencies.postgres, gateway: gateway, commands: commands, cards: cards,
                    arrivals: arrivals, arrivalWait: arrivalWait, flags: flags, logger: logger)
                    .addRoutes(to: api)
                CheckoutSessionsController(
                    store: store, postgres: dependencies.postgres, commands: commands, flags: flags, arrivals: arrivals, arrivalWait: arrivalWait
                ).addRoutes(to: api)
                FeatureFlagsController(flags: flags).addRoutes(to: api)
                AdminPaymentsController(store: store, postgres: dependencies.postgres, gateway: gateway).addRoutes(to: api)
                PaymentMethodsController(cards: cards).addRoutes(to: api)
                TopUpsController(
                    topUps: topUps, postgres: dependencies.postgres, gateway: gateway, commands: commands, cards: cards, flags: flags
                ).addRoutes(to: api)
                AdminRefundsController(payments: store, refunds: refunds, idempotency: dependencies.idempotency) { wakeCommands.yield() }
                    .addRoutes(to: api)
                GatewayCommandsController(runner: commands, postgres: dependencies.postgres).addRoutes(to: api)
                StripeEventsController(postgres: dependencies.postgres, logger: logger) { wake.yield() }.addRoutes(to: api)
            }
            parts.publicRoutes = { router in
                router.post("api/v1/stripe/webhook") { request, context -> Response in
                    let body = try await request.body.collect(upTo: 1024 * 1024)
                    _ = try await receiver.receive(payload: Array(buffer: body), signature: request.headers[.stripeSignature])
                    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"received":true}"#)))
                }
            }
            parts.gauges = [
                { try await paymentGauges(postgres: dependencies.postgres, logger: logger) },
                { try await webhookGauges(postgres: dependencies.postgres, logger: logger) },
                { try await commands.gauges() },
            ]
            parts.services = [
                processor,
                GatewayCommandWorker(runner: commands, wakeups: commandWakeups),
                arrivals,
            ]
            return parts
        }
    )

    /// Payments by status (succeeded, failed, …), from the counts the payments table keeps
    /// (`payment_status_counts`): a few rows per database session, not one per payment ever made.
    static func paymentGauges(postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let counts = try await KeptStatusCounts.read("payment_status_counts", on: postgres, logger: logger)
        return [
            GaugeFamily(
                name: "payments", help: "Payments by status.",
                samples: PaymentStatus.allCases.map { .init(labels: [("status", $0.rawValue)], value: Double(counts[$0.rawValue] ?? 0)) })
        ]
    }
}
