import Foundation
import Testing

@testable import NotificationService

@Suite struct MailMessageTests {
    let message = MailMessage(
        from: MailAddress(email: "no-reply@escrowmarket.test", name: "EscrowMarket"),
        to: MailAddress(email: "ada@example.test"), subject: "Reçu R-000001 for €12.00",
        text: "Total: €12.00\n.hidden line\nend", html: "<p>Total: <b>€12.00</b></p>",
        messageId: "0123456789abcdef0123456789abcdef@escrowmarket.test", date: Date(timeIntervalSince1970: 0))

    @Test func aMessageIsMultipartAlternativeWithTextThenHTML() {
        let rendered = message.rendered()
        let boundary = message.boundary
        #expect(rendered.contains("Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n"))
        let plain = rendered.range(of: "--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
        let html = rendered.range(of: "--\(boundary)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
        #expect(plain != nil && html != nil)
        #expect(plain!.lowerBound < html!.lowerBound)
        #expect(rendered.hasSuffix("--\(boundary)--\r\n"))
        #expect(rendered.contains("Message-ID: <0123456789abcdef0123456789abcdef@escrowmarket.test>\r\n"))
        #expect(rendered.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(rendered.contains("From: \"EscrowMarket\" <no-reply@escrowmarket.test>\r\n"))
        // Non-ASCII subjects are RFC 2047 words; every header line is ASCII.
        #expect(rendered.contains("Subject: =?utf-8?B?\(Data("Reçu R-000001 for €12.00".utf8).base64EncodedString())?=\r\n"))
        #expect(rendered.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(!rendered.contains("\n\n") && !rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func headerValuesCannotInjectHeaders() {
        var evil = message
        evil.subject = "Hi\r\nBcc: victim@example.test"
        #expect(!evil.rendered().contains("\r\nBcc:"))
        #expect(!MailAddress(email: "a@b.test>\r\nRCPT TO:<c@d.test").isValid)
        #expect(!MailAddress(email: "no-at-sign").isValid)
        #expect(MailAddress(email: "ada.lovelace+shop@example.test").isValid)
    }

    @Test func quotedPrintableEscapesAndWrapsLines() {
        #expect(QuotedPrintable.encode("€ = 1") == "=E2=82=AC =3D 1")
        #expect(QuotedPrintable.encode("trailing \nnext") == "trailing=20\r\nnext")
        let long = QuotedPrintable.encode(String(repeating: "é", count: 60))
        let lines = long.components(separatedBy: "\r\n")
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        // An escape is never split across a soft break.
        #expect(lines.allSatisfy { !$0.dropLast().hasSuffix("=E") })
    }

    @Test func dataIsDotStuffedAndTerminated() {
        let stuffed = SMTPClient.dotStuffed(".first\r\nmiddle\r\n.\r\nlast")
        #expect(stuffed == "..first\r\nmiddle\r\n..\r\nlast\r\n.\r\n")
    }
}

@Suite struct SMTPErrorTests {
    /// Only a refusal of the message itself ends it; a misconfigured session must not kill the queue.
    @Test func onlyMessageLevelRefusalsArePermanent() {
        #expect(SMTPError(.rejected, "RCPT TO refused", replyCode: 550, aboutMessage: true).isPermanent)
        #expect(SMTPError(.rejected, "message refused", replyCode: 554, aboutMessage: true).isPermanent)
        #expect(!SMTPError(.rejected, "RCPT TO refused", replyCode: 451, aboutMessage: true).isPermanent)
        #expect(!SMTPError(.rejected, "AUTH refused", replyCode: 535).isPermanent)
        #expect(!SMTPError(.rejected, "MAIL FROM refused", replyCode: 550).isPermanent)
        #expect(!SMTPError(.connection, "refused").isPermanent)
        #expect(SMTPError(.invalidAddress, "bad").isPermanent)
    }
}
