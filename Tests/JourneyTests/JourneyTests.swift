import EventContracts
import Foundation
import Messaging
import PostgresNIO
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The journey of `scripts/dev demo` across the four real service processes and the Stripe
/// simulator (their production HTTP path to Stripe), on this test's own schemas and topics: onboarding, a two-seller checkout,
/// payment, shipping, delivery, release, payout, a split dispute, the emails, and a clean
/// reconciliation. The demo script checks every step and exits non-zero when one fails.
@Suite(.serialized) struct JourneyTests {
    static let services = [
        ("OrderService", "orders"), ("PaymentService", "payments"), ("EscrowService", "escrow"), ("NotificationService", "notifications"),
    ]

    @Test func theWholeMoneyFlowAcrossTheFourProcesses() async throws {
        let run = TestEnvironment.uniqueName("j")
        let prefix = run + "."
        try await KafkaAdmin.createTopics(
            Topic.all.flatMap { [prefix + $0, prefix + Topic.deadLetter(of: $0)] }, partitions: 3, configuration: TestEnvironment.kafka())
        try await TestDatabase.admin { connection in
            for (_, schema) in Self.services {
                try await connection.query("CREATE SCHEMA \(unescaped: "\(run)_\(schema)")", logger: TestEnvironment.logger)
            }
        }
        let ports = try TestEnvironment.reservePorts(Self.services.count)
        let url = { (index: Int) in "http://127.0.0.1:\(ports[index])" }
        let secret = ServiceHarness.secret
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(run)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stripe = try await SimulatorHarness(webhookSecret: "whsec_journey_\(run)", environment: ["SIM_WEBHOOK_URL": "\(url(1))/api/v1/stripe/webhook"])
        defer { stripe.stop() }

        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        for (index, (binary, schema)) in Self.services.enumerated() {
            var environment = ProcessInfo.processInfo.environment
            environment.merge([
                "APP_ENV": "development", "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "\(ports[index])",
                "DATABASE_URL": TestEnvironment.databaseURL, "DATABASE_SCHEMA": "\(run)_\(schema)", "DATABASE_MAX_CONNECTIONS": "10",
                "KAFKA_BROKERS": TestEnvironment.brokers, "KAFKA_TOPIC_PREFIX": prefix,
                "KAFKA_CONSUMER_PROPERTIES": KafkaConfiguration.testConsumerProperties.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                "JWT_SECRET": secret, "LOG_FORMAT": "json", "LOG_LEVEL": "info",
                "STRIPE_SECRET_KEY": SimulatorHarness.secretKey, "STRIPE_API_BASE": stripe.url, "STRIPE_WEBHOOK_SECRET": stripe.webhookSecret,
                "PUBLIC_BASE_URL": url(index),
                "SMTP_HOST": try Self.require("TEST_SMTP_HOST"), "SMTP_PORT": try Self.require("TEST_SMTP_PORT"),
                "NOTIFY_LOOP_INTERVAL_MS": "200",
            ]) { _, new in new }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestEnvironment.binDirectory).appendingPathComponent(binary)
            process.environment = environment
            let log = directory.appendingPathComponent("\(binary).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            processes.append(process)
        }
        for index in Self.services.indices {
            #expect(try await Self.waitReady(url(index)), "\(Self.services[index].0) did not become ready")
        }
        // A service that could not start (e.g. its port taken) must fail here, not as a 404 from another.
        guard processes.allSatisfy(\.isRunning) else {
            Issue.record("a service exited at start:\n\(Self.tails(directory))")
            return
        }

        let stackEnv = directory.appendingPathComponent("stack.env")
        try """
            ORDER_SERVICE_URL=\(url(0))
            PAYMENT_SERVICE_URL=\(url(1))
            ESCROW_SERVICE_URL=\(url(2))
            NOTIFICATION_SERVICE_URL=\(url(3))
            JWT_SECRET=\(secret)
            SMTP_MAILDIR=\(try Self.require("TEST_SMTP_MAILDIR"))
            """.write(to: stackEnv, atomically: true, encoding: .utf8)
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: try Self.require("TEST_PYTHON"))
        demo.arguments = [Self.repositoryRoot.appendingPathComponent("scripts/lib/demo.py").path, "--env", stackEnv.path]
        let output = Pipe()
        demo.standardOutput = output
        demo.standardError = output
        try demo.run()
        let transcript = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        demo.waitUntilExit()
        #expect(demo.terminationStatus == 0, "\(transcript)\n\(Self.tails(directory))")
        #expect(transcript.contains("The journey completed."))
        let running = processes.allSatisfy(\.isRunning)
        #expect(running, "a service exited during the journey")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw HarnessError("\(name) is not set: run the tests with scripts/dev test")
        }
        return value
    }

    static func waitReady(_ base: String) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let url = URL(string: base + "/health/ready"),
                let (_, response) = try? await URLSession.shared.data(from: url),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// The last lines of each service's log, for a failure message.
    static func tails(_ directory: URL) -> String {
        services.map { binary, _ in
            let text = (try? String(contentsOf: directory.appendingPathComponent("\(binary).log"), encoding: .utf8)) ?? ""
            return "--- \(binary)\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
