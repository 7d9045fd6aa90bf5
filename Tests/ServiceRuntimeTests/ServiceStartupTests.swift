import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import Messaging
import Persistence
import Testing
import TestSupport

@testable import EscrowService
@testable import NotificationService
@testable import OrderService
@testable import PaymentService
@testable import ServiceRuntime

@Suite struct ServiceStartupTests {
    static let definitions: [ServiceDefinition] = [.orderService, .paymentService, .escrowService, .notificationService]

    @Test(arguments: definitions)
    func eachServiceMigratesItsSchemaAndReportsReady(_ definition: ServiceDefinition) async throws {
        try await TestDatabase.withSchema(prefix: definition.identity.schema, migrations: []) { database in
            var configuration = try ServiceConfiguration.fromEnvironment(
                [
                    "APP_ENV": "test", "DATABASE_URL": TestEnvironment.databaseURL, "DATABASE_SCHEMA": database.schema,
                    "KAFKA_BROKERS": TestEnvironment.brokers, "JWT_SECRET": "service-startup-test-secret-of-32-bytes",
                ], service: definition.identity)
            configuration.httpPort = 0
            let app = try await buildApplication(definition, configuration: configuration, logger: TestEnvironment.logger)
            try await app.test(.live) { client in
                let ready = try await eventuallyReady(client)
                #expect(ready)
                try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/api/v1/whoami", method: .get) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
                let token = try await signedToken(secret: "service-startup-test-secret-of-32-bytes")
                try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("\"id\":\"seller-7\""))
                }
            }
            let migrated = try await database.count(
                "SELECT count(*) FROM pg_tables WHERE schemaname = \(database.schema) AND tablename IN ('outbox', 'inbox', 'schema_migrations')")
            #expect(migrated == 3)
        }
    }

    private func eventuallyReady(_ client: some TestClientProtocol) async throws -> Bool {
        for _ in 0..<100 {
            let status = try await client.execute(uri: "/health/ready", method: .get) { $0.status }
            if status == .ok { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    private func signedToken(secret: String) async throws -> String {
        struct Claims: JWTPayload {
            var sub: SubjectClaim
            var roles: [String]
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(Claims(sub: "seller-7", roles: ["seller"], exp: .init(value: Date().addingTimeInterval(60))))
    }
}

extension ServiceDefinition: CustomTestStringConvertible {
    public var testDescription: String { identity.name }
}
