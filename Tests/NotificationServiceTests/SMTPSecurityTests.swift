import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

/// The SMTP client against a real server that demands STARTTLS and AUTH (aiosmtpd with a
/// self-signed certificate): mail goes out encrypted and authenticated, and a wrong password or an
/// untrusted certificate sends nothing, in clear or otherwise.
@Suite struct SMTPSecurityTests {
    static let credentials = (user: "mailer", password: "pa55-\(UUID().uuidString.prefix(8))")

    /// A sink that requires STARTTLS and these credentials, and NotificationService set up for it.
    func withSecureSink(
        _ settings: [String: String], _ body: @Sendable (ServiceHarness, MailSink) async throws -> Void
    ) async throws {
        let own = try OwnMailSink(arguments: ["--starttls", "--auth", "\(Self.credentials.user):\(Self.credentials.password)"])
        defer { own.stop() }
        let environment = ["SMTP_STARTTLS": "1", "SMTP_USERNAME": Self.credentials.user, "NOTIFY_MAX_ATTEMPTS": "100"]
            .merging(settings) { _, new in new }
        try await ServiceHarness.notifications(sink: own.sink, environment: environment) { service in
            try await body(service, own.sink)
        }
    }

    @Test func mailGoesOutOverSTARTTLSAfterAuthenticating() async throws {
        try await withSecureSink(["SMTP_PASSWORD": Self.credentials.password, "SMTP_TLS_VERIFY": "0"]) { service, sink in
            let fixture = Fixture()
            try await service.publishOrder("order.placed", fixture.order())
            #expect(try await service.eventually { try await service.notificationStatuses("order_confirmation") == ["sent"] })
            let mails = try sink.messages(to: fixture.buyerEmail)
            #expect(mails.count == 1)
            #expect(mails.first?.tls == true)
            #expect(mails.first?.authenticatedAs == Self.credentials.user)
        }
    }

    @Test(arguments: [
        (["SMTP_PASSWORD": "not-the-password", "SMTP_TLS_VERIFY": "0"], "535"),
        // The certificate is self-signed: with verification on, the handshake fails before AUTH.
        (["SMTP_PASSWORD": credentials.password], "TLS"),
    ])
    func nothingIsSentWithWrongCredentialsOrAnUntrustedCertificate(_ settings: [String: String], _ error: String) async throws {
        try await withSecureSink(settings) { service, sink in
            let fixture = Fixture()
            try await service.publishOrder("order.placed", fixture.order())
            var lastError = ""
            let failed = try await service.eventually {
                let rows = try await service.database.client.query(
                    "SELECT last_error FROM notifications WHERE kind = 'order_confirmation' AND status = 'failed' AND attempts >= 2",
                    logger: TestEnvironment.logger
                ).decode(String?.self).all()
                lastError = rows.first.flatMap { $0 } ?? ""
                return lastError.contains(error)
            }
            #expect(failed, "last error: \(lastError)")
            #expect(try sink.messages(to: fixture.buyerEmail).isEmpty)
        }
    }
}
