import AsyncHTTPClient
import Hummingbird
import Logging

/// The simulator: its state, the Stripe API and control routes on one router, and the two
/// background services (webhook delivery and timed actions). Tests run the same assembly.
func buildApplication(_ configuration: SimulatorConfiguration) -> some ApplicationProtocol {
    let logger = Logger(label: "StripeSimulator")
    let faults = FaultInjector()
    let idempotency = IdempotencyStore(ttl: configuration.idempotencyTTL)
    let outbox = WebhookOutbox(endpoint: WebhookEndpoint(url: configuration.webhookURL, secret: configuration.webhookSecret, enabledEvents: configuration.webhookEvents), faults: faults)
    let timers = DueQueue<TimedAction>()
    let state = SimulatorState(
        outbox: outbox, timers: timers, faults: faults, payoutDelay: configuration.payoutDelay, baseURL: configuration.baseURL)

    let router = Router()
    router.add(middleware: StripeNotFoundMiddleware())
    let api = StripeAPI(router: router, pipeline: APIPipeline(idempotency: idempotency, faults: faults, logger: logger))
    PaymentRoutes(state: state).register(on: api)
    SavedCardRoutes(state: state).register(on: api)
    AccountRoutes(state: state).register(on: api)
    TransferRoutes(state: state).register(on: api)
    PayoutRoutes(state: state).register(on: api)
    EventRoutes(state: state).register(on: api)
    CheckoutRoutes(state: state).register(on: api)
    OnboardingPage(state: state).register(on: router)
    CheckoutPage(state: state).register(on: router)
    ControlRoutes(state: state, faults: faults, idempotency: idempotency, outbox: outbox).register(on: router)

    let dispatcher = WebhookDispatcher(
        outbox: outbox,
        policy: WebhookRetryPolicy(
            base: configuration.webhookRetryBase, cap: configuration.webhookRetryCap, maximumAttempts: configuration.webhookMaxAttempts),
        timeout: configuration.webhookTimeout, concurrency: configuration.webhookConcurrency, http: .shared, logger: logger)
    logger.info(
        "stripe simulator listening",
        metadata: [
            "address": "\(configuration.host):\(configuration.port)", "webhook_url": "\(configuration.webhookURL ?? "-")",
            "webhook_events": "\(configuration.webhookEvents.map { $0.sorted().joined(separator: ",") } ?? "*")",
        ])
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "StripeSimulator"),
        services: [dispatcher, TimedWork(queue: timers, state: state, logger: logger)],
        logger: logger)
}
