import Testing

@testable import ServiceRuntime

@Suite struct ServiceConfigurationTests {
    let identity = ServiceIdentity(name: "order-service", schema: "orders", defaultPort: 8081)

    @Test func developmentRunsWithLocalDefaults() throws {
        let configuration = try ServiceConfiguration.fromEnvironment([:], service: identity)
        #expect(configuration.mode == .development)
        #expect(configuration.httpPort == 8081)
        #expect(configuration.database.schema == "orders")
        #expect(configuration.database.username == "orders")
        #expect(configuration.database.database == "escrowmarket")
        #expect(configuration.kafka.brokers == "127.0.0.1:9092")
        #expect(configuration.eventLoopThreads == nil)
        #expect(try ServiceConfiguration.fromEnvironment(["EVENT_LOOP_THREADS": "1"], service: identity).eventLoopThreads == 1)
    }

    @Test(arguments: ["DATABASE_URL", "KAFKA_BROKERS", "JWT_SECRET"])
    func productionNamesTheMissingVariable(_ missing: String) throws {
        var environment = [
            "APP_ENV": "production", "DATABASE_URL": "postgres://orders:pw@db:5432/escrowmarket",
            "KAFKA_BROKERS": "kafka:9092", "JWT_SECRET": String(repeating: "s", count: 40),
        ]
        environment[missing] = nil
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(environment, service: identity)
        }
        #expect(error?.variable == missing)
        #expect(error?.description.contains(missing) == true)
    }

    @Test func malformedValuesNameTheirVariable() {
        for (name, value) in [("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("APP_ENV", "staging"), ("DATABASE_URL", "mysql://x@y/z"), ("LOG_LEVEL", "loud"),
            ("EVENT_LOOP_THREADS", "0"), ("EVENT_LOOP_THREADS", "65"), ("EVENT_LOOP_THREADS", "two"),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                try ServiceConfiguration.fromEnvironment([name: value], service: identity)
            }
            #expect(error?.variable == name)
        }
    }

    @Test func aShortSecretIsRefusedInEveryMode() {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(["JWT_SECRET": "short"], service: identity)
        }
        #expect(error?.variable == "JWT_SECRET")
    }

    @Test func aShortProductionSecretIsRefused() {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(
                ["APP_ENV": "production", "DATABASE_URL": "postgres://o:p@db/e", "KAFKA_BROKERS": "k:9092", "JWT_SECRET": "short"],
                service: identity)
        }
        #expect(error?.variable == "JWT_SECRET")
    }
}
