import GatewayCommands
import Logging
import ServiceRuntime
import StripeClient
import Testing

@Suite struct GatewayOutcomeTests {
    /// A clear "no" is refused; anything that leaves doubt whether the object exists is unknown.
    @Test func onlyAClearAnswerIsRefused() {
        let refused: [StripeError] = [
            StripeError(kind: .cardDeclined, httpStatus: 402, code: "card_declined", declineCode: "insufficient_funds", message: "no"),
            StripeError(kind: .invalidRequest, httpStatus: 400, code: "balance_insufficient", message: "no"),
            StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "no"),
        ]
        for error in refused {
            guard case .refused(let code, _) = GatewayOutcome.of(error) else {
                Issue.record("\(error) should be refused")
                continue
            }
            #expect(code == error.declineCode ?? error.code)
        }
        let unknown: [StripeError] = [
            StripeError(kind: .connection, message: "timed out"),
            StripeError(kind: .api, httpStatus: 500, message: "boom"),
            StripeError(kind: .api, httpStatus: 502, message: "bad gateway"),
            // A 2xx whose body we could not read: Stripe may well have made the object.
            StripeError(kind: .api, httpStatus: 200, message: "unexpected response shape"),
            StripeError(kind: .idempotency, httpStatus: 409, code: "idempotency_key_in_use", message: "in use"),
            StripeError(kind: .idempotency, httpStatus: 400, code: "idempotency_error", message: "other parameters"),
            StripeError(kind: .rateLimit, httpStatus: 429, message: "slow down"),
            StripeError(kind: .authentication, httpStatus: 401, message: "bad key"),
        ]
        for error in unknown {
            guard case .unknown = GatewayOutcome.of(error) else {
                Issue.record("\(error) should be unknown")
                continue
            }
        }
    }

    @Test func anyOtherFailureOfTheCallIsUnknown() async {
        struct Timeout: Error {}
        #expect(await GatewayOutcome.attempt { () async throws -> String in throw Timeout() } == .unknown("Timeout()"))
        #expect(await GatewayOutcome.attempt { "tr_1" } == .succeeded(objectId: "tr_1"))
    }

    @Test func unknownOutcomesBackOffUpToAMinute() {
        let delays = (1...10).map { GatewayCommandRunner.backoff(afterAttempt: $0) }
        #expect(delays.prefix(4) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(delays.allSatisfy { $0 <= .seconds(60) })
        #expect(delays.last == .seconds(60))
    }
}

@Suite struct GatewaySettingsTests {
    let identity = ServiceIdentity(name: "payment-service", schema: "payments", defaultPort: 8082)
    let production = [
        "APP_ENV": "production", "DATABASE_URL": "postgres://p:pw@db:5432/escrowmarket", "KAFKA_BROKERS": "kafka:9092",
        "JWT_SECRET": String(repeating: "s", count: 40),
    ]

    func settings(_ environment: [String: String]) throws -> StripeClient.Configuration {
        try GatewaySettings.stripe(ServiceConfiguration.fromEnvironment(environment, service: identity), logger: Logger(label: "test"))
    }

    @Test func productionTakesNoSimulatedMoney() throws {
        let missing = #expect(throws: ConfigurationError.self) { try settings(production) }
        #expect(missing?.variable == "STRIPE_SECRET_KEY")

        var simulator = production
        simulator["STRIPE_SECRET_KEY"] = "sk_test_simulator"
        simulator["STRIPE_API_BASE"] = "http://stripe-simulator:12111"
        let elsewhere = #expect(throws: ConfigurationError.self) { try settings(simulator) }
        #expect(elsewhere?.variable == "STRIPE_API_BASE")

        simulator["STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION"] = "1"
        #expect(try settings(simulator).baseURL == "http://stripe-simulator:12111")

        var stripe = production
        stripe["STRIPE_SECRET_KEY"] = "sk_live_x"
        #expect(try settings(stripe).baseURL == "https://api.stripe.com")
    }

    /// Without settings, development talks to the local simulator, over HTTP like production.
    @Test func developmentDefaultsToTheLocalSimulator() throws {
        let local = try settings([:])
        #expect(local.baseURL == GatewaySettings.localSimulatorAPI)
        #expect(local.secretKey.hasPrefix("sk_test_"))
        #expect(try settings(["STRIPE_SECRET_KEY": "sk_test_1"]).baseURL == "https://api.stripe.com")
        #expect(try settings(["STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_API_BASE": "http://127.0.0.1:12111/"]).baseURL == "http://127.0.0.1:12111")
    }
}
