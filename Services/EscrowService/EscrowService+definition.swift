import EventContracts
import Foundation
import GatewayCommands
import Logging
import Persistence
import PostgresNIO
import ServiceRuntime
import StripeClient

extension ServiceDefinition {
    /// EscrowService owns the ledger, escrows, disputes, sellers' connected accounts, transfers
    /// and payouts: it decides where money the platform holds goes, and records every movement.
    static let escrowService = ServiceDefinition(
        identity: ServiceIdentity(name: "escrow-service", schema: "escrow", defaultPort: 8083),
        migrations: {
            try GatewayCommandMigrations.all() + Migration.load(source: "escrow", bundle: .module)
                + [KeptStatusCounts.migration(source: "escrow", table: "payouts", countsTable: "payout_status_counts")]
        },
        consumedTopics: [Topic.payments, Topic.orders],
        openAPIDocument: { try OpenAPIDocument.load(bundle: .module) },
        rateLimitedRoutes: ["POST /api/v1/payouts"],
        assemble: { dependencies in
            let configuration = dependencies.configuration
            let logger = dependencies.logger
            let fees = FeePolicy(
                basisPoints: Int64(try configuration.setting("ESCROW_FEE_BASIS_POINTS", default: 500)),
                fixedAmount: Int64(try configuration.setting("ESCROW_FEE_FIXED_AMOUNT", default: 0)))
            // Stripe holds funds for manual payouts up to 90 days in most countries.
            let holdLimit = Duration.seconds(try configuration.setting("ESCROW_HOLD_LIMIT_SECONDS", default: 90 * 86_400))
            let timerInterval = Duration.seconds(try configuration.setting("ESCROW_TIMER_INTERVAL_SECONDS", default: 60))
            let scheduleInterval = Duration.seconds(
                min(3600, max(1, try configuration.setting("ESCROW_PAYOUT_SCHEDULE_INTERVAL_SECONDS", default: 60))))
            let publicBaseURL: @Sendable () -> String = {
                configuration.stringSetting("PUBLIC_BASE_URL") ?? "http://127.0.0.1:\(dependencies.boundPort.value ?? configuration.httpPort)"
            }

            let gateway: any EscrowGateway = StripeEscrowGateway(
                client: StripeClient(configuration: try GatewaySettings.stripe(configuration, logger: logger), logger: logger))

            let escrows = EscrowStore(
                logger: logger, topic: dependencies.topic(Topic.escrow), gateway: gateway, commands: GatewayCommandStore(logger: logger))
            let disputes = DisputeStore(escrows: escrows)
            let payouts = PayoutStore(escrows: escrows)
            let schedules = PayoutScheduleStore(logger: logger)
            let (commandWakeups, wakeCommands) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let commands = GatewayCommandRunner(
                postgres: dependencies.postgres, handlers: EscrowCommand.handlers(escrows: escrows, payouts: payouts), logger: logger,
                claimer: configuration.groupInstanceId)
            let reconciler = Reconciler(escrows: escrows, postgres: dependencies.postgres)

            var parts = ServiceParts()
            parts.handlers = EscrowEventHandlers(escrows: escrows, payouts: payouts, fees: fees) { wakeCommands.yield() }.all
            parts.routes = { api in
                EscrowsController(escrows: escrows, postgres: dependencies.postgres, idempotency: dependencies.idempotency).addRoutes(to: api)
                SellersController(escrows: escrows, postgres: dependencies.postgres, publicBaseURL: publicBaseURL).addRoutes(to: api)
                DisputesController(disputes: disputes, postgres: dependencies.postgres).addRoutes(to: api)
                AdminSellersController(postgres: dependencies.postgres).addRoutes(to: api)
                WalletController(wallets: WalletStore(escrows: escrows), postgres: dependencies.postgres, idempotency: dependencies.idempotency)
                    .addRoutes(to: api)
                PayoutsController(payouts: payouts, postgres: dependencies.postgres, idempotency: dependencies.idempotency, commands: commands)
                    .addRoutes(to: api)
                PayoutScheduleController(schedules: schedules, postgres: dependencies.postgres).addRoutes(to: api)
                GatewayCommandsController(runner: commands, postgres: dependencies.postgres).addRoutes(to: api)
                ReconciliationController(reconciler: reconciler, postgres: dependencies.postgres).addRoutes(to: api)
            }
            parts.publicRoutes = { router in OnboardingPages().addRoutes(to: router) }
            parts.gauges = [
                { try await heldGauges(postgres: dependencies.postgres, logger: logger) },
                { try await holdGauges(holdLimit: holdLimit, postgres: dependencies.postgres, logger: logger) },
                { try await payoutGauges(postgres: dependencies.postgres, logger: logger) },
                { try await reconciliationGauges(postgres: dependencies.postgres, logger: logger) },
                { try await commands.gauges() },
            ]
            parts.services = [
                EscrowTimers(escrows: escrows, postgres: dependencies.postgres, holdLimit: holdLimit, interval: timerInterval),
                GatewayCommandWorker(runner: commands, wakeups: commandWakeups),
                // After the worker: it stops first at shutdown, leaving the worker its commands.
                PayoutScheduler(
                    payouts: payouts, schedules: schedules, postgres: dependencies.postgres, interval: scheduleInterval,
                    metrics: dependencies.metrics, paid: { wakeCommands.yield() }),
            ]
            return parts
        }
    )

    /// Money held in escrow per currency: the balance of every `escrow_held` ledger account
    /// (credits are negative in the journal, so the held amount is minus their sum), read from
    /// the balances the ledger keeps (`escrow_held_balances`), only those not zero: the work
    /// follows the escrows holding money, not the history. A currency with nothing held has no
    /// sample.
    static func heldGauges(postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let rows = try await postgres.query(
            """
            SELECT currency, (-sum(balance))::int8 FROM escrow_held_balances WHERE balance <> 0
            GROUP BY currency ORDER BY currency
            """, logger: logger
        ).decode((String, Int64).self).all()
        return [
            GaugeFamily(
                name: "escrow_held_minor_units", help: "Money held in escrow, in minor units, per currency.",
                samples: rows.map { .init(labels: [("currency", $0.0)], value: Double($0.1)) })
        ]
    }
}
