import Foundation
import Logging
import Testing
import TestSupport

@testable import NotificationService

/// A sender's mails go over one SMTP connection, and a connection the server dropped while it
/// was idle is replaced without failing the next mail (aiosmtpd, which notes each mail's peer);
/// with a server that offers PIPELINING, and with one that does not.
@Suite struct SMTPSessionTests {
    func message(to recipient: String, _ index: Int) -> MailMessage {
        MailMessage(
            from: MailAddress(email: "no-reply@escrowmarket.test"), to: MailAddress(email: recipient), subject: "Mail \(index)",
            text: "Mail \(index)", html: "<p>Mail \(index)</p>", messageId: "\(UUID().uuidString)@escrowmarket.test", date: Date())
    }

    @Test(arguments: [true, false])
    func mailsShareAConnectionAndADroppedOneIsReplacedUnseen(pipelining: Bool) async throws {
        let own = try OwnMailSink(arguments: ["--reject", "^refused@"] + (pipelining ? [] : ["--no-pipelining"]))
        defer { own.stop() }
        let client = SMTPClient(
            settings: SMTPSettings(host: own.sink.host, port: own.sink.port, startTLS: false, timeout: .seconds(5)),
            logger: Logger(label: "test"))
        let recipient = "session-\(UUID().uuidString.prefix(8))@example.test"
        var session = SMTPSession()
        for index in 0..<3 { try await client.send(message(to: recipient, index), over: &session) }
        #expect(session.sent == 3)
        var mails = try own.sink.messages(to: recipient)
        #expect(mails.count == 3)
        #expect(Set(mails.compactMap(\.peer)).count == 1)

        // The server goes away and comes back: the idle connection is dead, the next mail goes
        // out over a new one, and the caller sees no error.
        own.stop()
        try own.start()
        try await client.send(message(to: recipient, 3), over: &session)
        #expect(session.sent == 1)
        mails = try own.sink.messages(to: recipient)
        #expect(mails.count == 4)
        #expect(Set(mails.compactMap(\.peer)).count == 2)

        // A refusal of the message itself is the caller's (permanent), and closes the connection.
        let refusal = await #expect(throws: SMTPError.self) { try await client.send(message(to: "refused@example.test", 4), over: &session) }
        // The recipient's refusal, not the refused DATA behind it.
        #expect(refusal?.replyCode == 550)
        #expect(refusal?.isPermanent == true)
        #expect(session.connection == nil)
        try await client.send(message(to: recipient, 5), over: &session)
        mails = try own.sink.messages(to: recipient)
        #expect(mails.count == 5)
        // MAIL, RCPT and DATA went in one write exactly when the server offered it.
        #expect(mails.map(\.pipelined) == Array(repeating: pipelining, count: 5))
        await session.close()
    }
}

/// The delivery loop keeps each sender's connection from one pass to the next while it is in
/// use, and closes it once it has sent nothing for `SMTP_IDLE_SECONDS`.
@Suite struct DeliveryConnectionTests {
    @Test(arguments: [(idleSeconds: 30, connections: 1), (idleSeconds: 1, connections: 3), (idleSeconds: 0, connections: 3)])
    func aSenderKeepsItsConnectionAcrossPassesUntilIdle(idleSeconds: Int, connections: Int) async throws {
        let own = try OwnMailSink()
        defer { own.stop() }
        let environment = ["NOTIFY_SENDERS": "1", "SMTP_IDLE_SECONDS": "\(idleSeconds)"]
        try await ServiceHarness.notifications(sink: own.sink, environment: environment) { service in
            let fixture = Fixture()
            // Three mails, each in a pass of its own (the loop runs every 100 ms), 1.5 s apart.
            for sent in 1...3 {
                try await service.publishOrder("order.placed", fixture.order())
                #expect(try await service.eventually {
                    try await service.notificationStatuses("order_confirmation") == Array(repeating: "sent", count: sent)
                })
                if sent < 3 { try await Task.sleep(for: .milliseconds(1500)) }
            }
            let mails = try own.sink.messages(to: fixture.buyerEmail)
            #expect(mails.count == 3)
            #expect(Set(mails.compactMap(\.peer)).count == connections)
        }
    }
}
