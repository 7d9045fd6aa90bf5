import Foundation

/// A mail address with an optional display name.
struct MailAddress: Sendable, Equatable {
    var email: String
    var name: String?

    /// `"Name" <email>` (the name RFC 2047-encoded when it is not plain ASCII) or `<email>`.
    var header: String {
        guard let name, !name.isEmpty else { return "<\(email)>" }
        return "\(MailMessage.encodedWord(name, quoted: true)) <\(email)>"
    }

    /// Rejects what could inject SMTP commands or headers: CR, LF, angle brackets, no `@`.
    var isValid: Bool {
        let forbidden = CharacterSet(charactersIn: "<>\r\n \t,;")
        return email.rangeOfCharacter(from: forbidden) == nil && email.split(separator: "@").count == 2
            && !email.hasPrefix("@") && !email.hasSuffix("@")
    }
}

/// One email with a plain-text and an HTML alternative, rendered as an RFC 5322 message with a
/// `multipart/alternative` MIME body (quoted-printable parts, UTF-8).
struct MailMessage: Sendable {
    var from: MailAddress
    var to: MailAddress
    var subject: String
    var text: String
    var html: String
    /// Without angle brackets, e.g. `3f2a…@escrowmarket.test`; derived from the idempotency key.
    var messageId: String
    var date: Date
    var extraHeaders: [(String, String)] = []

    /// The boundary is derived from the Message-ID, so the same message always renders the same bytes.
    var boundary: String { "=_em_" + messageId.filter { $0.isLetter || $0.isNumber }.prefix(24) }

    /// The message as sent after DATA (CRLF line ends, before dot-stuffing).
    func rendered() -> String {
        var lines = [
            "From: \(from.header)",
            "To: \(to.header)",
            "Subject: \(Self.encodedWord(Self.singleLine(subject), quoted: false))",
            "Date: \(Self.rfc5322(date))",
            "Message-ID: <\(messageId)>",
            "MIME-Version: 1.0",
        ]
        lines += extraHeaders.map { "\($0.0): \(Self.singleLine($0.1))" }
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            QuotedPrintable.encode(text),
            "--\(boundary)",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            QuotedPrintable.encode(html),
            "--\(boundary)--",
            "",
        ]
        return lines.joined(separator: "\r\n")
    }

    /// A header value never spans lines: CR and LF would start a header of the sender's choosing.
    static func singleLine(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047 `=?utf-8?B?…?=` for non-ASCII text (or a quoted display name), plain otherwise.
    static func encodedWord(_ value: String, quoted: Bool) -> String {
        if value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) {
            if !quoted { return value }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "=?utf-8?B?\(Data(singleLine(value).utf8).base64EncodedString())?="
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
