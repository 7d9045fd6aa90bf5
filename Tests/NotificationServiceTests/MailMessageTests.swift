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
        #expect(MailMessage.singleLine("a\r\nb\rc\nd é") == "a  b c d é")
        #expect(MailMessage.singleLine("Reçu R-000001") == "Reçu R-000001")
        #expect(!MailAddress(email: "a@b.test>\r\nRCPT TO:<c@d.test").isValid)
        #expect(!MailAddress(email: "no-at-sign").isValid)
        for bad in ["@example.test", "ada@", "ada@@example.test", "a@b@c.test", "ada lovelace@example.test", "ada,b@example.test", "ada@exam\tple.test", ""] {
            #expect(!MailAddress(email: bad).isValid, "\(bad)")
        }
        #expect(MailAddress(email: "zoë@exämple.test").isValid)
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

    @Test func quotedPrintableKeepsLineEndsAndEncodesWhatEndsALine() {
        #expect(QuotedPrintable.encode("") == "")
        #expect(QuotedPrintable.encode("a\r\nb\nc") == "a\r\nb\r\nc")
        // A lone CR is data; whitespace before any line end (or the end) is encoded.
        #expect(QuotedPrintable.encode("a\rb") == "a=0Db")
        #expect(QuotedPrintable.encode("tab\t\r\nend ") == "tab=09\r\nend=20")
        #expect(QuotedPrintable.encode("a b") == "a b")
        // 75 characters fit on a line; the 76th goes after a soft break, and so does an escape
        // that would not fit whole.
        #expect(QuotedPrintable.encode(String(repeating: "x", count: 75)) == String(repeating: "x", count: 75))
        #expect(QuotedPrintable.encode(String(repeating: "x", count: 76)) == String(repeating: "x", count: 75) + "=\r\nx")
        #expect(QuotedPrintable.encode(String(repeating: "x", count: 73) + "=") == String(repeating: "x", count: 73) + "=\r\n=3D")
    }

    @Test func dataIsDotStuffedAndTerminated() {
        let stuffed = SMTPClient.dotStuffed(".first\r\nmiddle\r\n.\r\nlast")
        #expect(stuffed == "..first\r\nmiddle\r\n..\r\nlast\r\n.\r\n")
        #expect(SMTPClient.dotStuffed("") == "\r\n.\r\n")
        #expect(SMTPClient.dotStuffed("one\ntwo\r\n") == "one\r\ntwo\r\n.\r\n")
        #expect(SMTPClient.dotStuffed("a\rb\n.c") == "a\rb\r\n..c\r\n.\r\n")
    }

    /// Mail dates are written by hand; Foundation's formatter is the reference (from 1600 on: it
    /// switches to the Julian calendar before 1582).
    @Test func mailDatesMatchFoundationsFormatter() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let short = DateFormatter()
        short.locale = formatter.locale
        short.timeZone = formatter.timeZone
        short.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        var generator = SystemRandomNumberGenerator()
        let samples = [-11_676_096_000, -86_401, -86_400, -1, 0, 951_782_400, 1_795_000_000, 4_107_542_400, 253_402_300_799]
            + (0..<2000).map { _ in Int64.random(in: -11_676_096_000...253_402_300_799, using: &generator) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            #expect(MailMessage.rfc5322(date) == formatter.string(from: date), "\(seconds)")
            #expect(EmailModels.date(date) == short.string(from: date), "\(seconds)")
        }
        // Nothing traps, whatever the date: it is held within years 1-9999.
        #expect(MailMessage.rfc5322(Date(timeIntervalSince1970: .infinity)) == "Fri, 31 Dec 9999 23:59:59 +0000")
        #expect(MailMessage.rfc5322(Date(timeIntervalSince1970: -.infinity)) == "Mon, 01 Jan 0001 00:00:00 +0000")
        #expect(MailMessage.rfc5322(Date(timeIntervalSince1970: .nan)) == "Thu, 01 Jan 1970 00:00:00 +0000")
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
